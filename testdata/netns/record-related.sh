#!/usr/bin/env bash
# record-related.sh - record related.pcapng: data connections that control
# flows announce, made by real programs between two throw-away namespaces.
#
#   wcrel-gw  (gw0: 10.0.0.5/24)   the appliance: vsftpd (21, passive ports
#                                  40000-40009, active from 20), rpcbind (111)
#                                  and rpc.statd (status, 100024); captured
#   wcrel-net (net0: 10.0.0.1/24)  the clients: curl (FTP) and rpcinfo
#
# What the capture holds (testdata/captures/README.md):
#   - FTP passive (EPSV and PASV) and active (EPRT and PORT) downloads of one
#     small file with curl, each a control connection and a data connection
#     to the announced port;
#   - rpcinfo -p (GETADDR, then DUMP over TCP), and rpcinfo's NULL calls to
#     statd over UDP (-u, -T udp) and TCP (-t): each an rpcbind v4 GETADDR
#     exchange, then a call to statd's announced port (the NFSv3 status
#     monitor);
#   - a connection to 10.0.0.5:40009, a passive port nobody announced,
#     refused: it must stay unexpected.
#
# Traffic never leaves the namespaces; every client runs under timeout and
# an EXIT trap removes the namespaces, the processes and the work directory.
#
# Usage:  sudo testdata/netns/record-related.sh [OUTDIR]
set -Eeuo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C
umask 022

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT_DIR=${1:-$SCRIPT_DIR/../captures}
GW=wcrel-gw-$$
NET=wcrel-net-$$
WORK=""
CAP_PID=""
declare -a BG_PIDS=()

log() { printf '[record-related %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

kill_pid() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$? ns pid
	trap - EXIT INT TERM
	set +e
	[[ -n $CAP_PID ]] && kill_pid "$CAP_PID"
	for pid in "${BG_PIDS[@]}"; do kill_pid "$pid"; done
	for ns in "$GW" "$NET"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill_pid "$pid"; done
		ip netns del "$ns" 2>/dev/null
	done
	if [[ -n $WORK && -d $WORK ]]; then
		if [[ $rc != 0 ]]; then
			for f in "$WORK"/logs/*; do [[ -s $f ]] && { printf -- '--- %s\n' "$f" >&2; tail -n 20 "$f" >&2; }; done
		fi
		[[ -n ${WCREL_KEEP:-} ]] || rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ $(id -u) == 0 ]] || die "must run as root"
for cmd in ip tcpdump editcap tshark curl vsftpd rpcbind rpcinfo rpc.statd ncat timeout; do
	command -v "$cmd" >/dev/null || die "missing $cmd (apt-get install vsftpd rpcbind nfs-common curl ncat tcpdump tshark)"
done

WORK=$(mktemp -d /tmp/wcrel.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/logs" "$WORK/cap" "$WORK/ftp" "$WORK/empty" "$WORK/statd"
printf 'related flows\n' >"$WORK/ftp/file.txt"
# statd keeps its state in sm/ and sm.bak/ and runs as the directory's owner.
mkdir -p "$WORK/statd/sm" "$WORK/statd/sm.bak"
chown -R statd "$WORK/statd" 2>/dev/null || true
chmod 755 "$WORK/ftp"

in_gw() { ip netns exec "$GW" "$@"; }
in_net() { ip netns exec "$NET" "$@"; }
# Daemons get a private, empty /run (tmpfs) so they leave no trace.
PRIVRUN='mount -t tmpfs -o mode=755 wcrel-run /run && mkdir -p /run/rpcbind &&
	chown _rpc /run/rpcbind 2>/dev/null; exec "$@"'
bg() { local name=$1 ns=$2; shift 2; ip netns exec "$ns" "$@" >"$WORK/logs/$name.log" 2>&1 & BG_PIDS+=("$!"); }
wait_listen() { # wait_listen NS tcp|udp PORT
	local i flag=-Hltn
	[[ $2 == udp ]] && flag=-Hlun
	for i in $(seq 1 50); do
		ip netns exec "$1" ss $flag | awk '{print $4}' | grep -qE "[:.]$3\$" && return 0
		sleep 0.1
	done
	die "nothing listening on $1 $2 $3"
}
ok() { local desc=$1; shift; log "  + $desc"; "$@" >>"$WORK/logs/clients.log" 2>&1 || die "failed: $desc"; sleep 0.3; }
fails() { local desc=$1; shift; log "  + $desc (expected to fail)"; if "$@" >>"$WORK/logs/clients.log" 2>&1; then die "succeeded: $desc"; fi; sleep 0.3; }

log "building the lab"
ip netns add "$GW"
ip netns add "$NET"
for ns in "$GW" "$NET"; do
	ip netns exec "$ns" ip link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done
ip -n "$GW" link add gw0 address 02:00:00:00:00:05 type veth peer name net0 address 02:00:00:00:00:01 netns "$NET"
in_gw ip addr add 10.0.0.5/24 dev gw0
in_gw ip link set gw0 up
in_net ip addr add 10.0.0.1/24 dev net0
in_net ip link set net0 up

cat >"$WORK/vsftpd.conf" <<CONF
listen=YES
listen_ipv6=NO
listen_address=10.0.0.5
background=NO
anonymous_enable=YES
anon_root=$WORK/ftp
no_anon_password=YES
local_enable=NO
write_enable=NO
pasv_enable=YES
pasv_min_port=40000
pasv_max_port=40008
port_enable=YES
connect_from_port_20=YES
secure_chroot_dir=$WORK/empty
seccomp_sandbox=NO
vsftpd_log_file=$WORK/logs/vsftpd-xfer.log
CONF
bg vsftpd "$GW" timeout 300 vsftpd "$WORK/vsftpd.conf"
# rpcbind and statd share one private /run: statd registers through
# rpcbind's unix socket there.
bg rpc "$GW" timeout 300 sh -c "$PRIVRUN" sh sh -c '
	rpcbind -f -w & sleep 1
	exec rpc.statd -F --no-notify -P "$1" -p 32765 -o 32766' sh "$WORK/statd"
wait_listen "$GW" tcp 21
wait_listen "$GW" tcp 111
for i in $(seq 1 50); do in_gw rpcinfo -p 127.0.0.1 2>/dev/null | grep -q status && break; sleep 0.1; done
in_gw rpcinfo -p 127.0.0.1 | grep -q status || die "statd did not register"

log "capture"
in_gw timeout 120 tcpdump -i gw0 -s 0 -U -n -w "$WORK/cap/related.pcap" >"$WORK/logs/tcpdump.log" 2>&1 &
CAP_PID=$!
for i in $(seq 1 50); do grep -q 'listening on' "$WORK/logs/tcpdump.log" && break; sleep 0.1; done
sleep 0.5

URL=ftp://10.0.0.5/file.txt
CURL=(timeout 15 curl -sS --max-time 10 -o /dev/null)
ok "FTP passive, EPSV" in_net "${CURL[@]}" "$URL"
ok "FTP passive, PASV" in_net "${CURL[@]}" --disable-epsv "$URL"
ok "FTP active, EPRT" in_net "${CURL[@]}" --ftp-port 10.0.0.1:45000 "$URL"
ok "FTP active, PORT" in_net "${CURL[@]}" --disable-eprt --ftp-port 10.0.0.1:45001 "$URL"
ok "rpcinfo -p (DUMP over TCP)" in_net timeout 10 rpcinfo -p 10.0.0.5
ok "rpcinfo -u status (GETPORT, NULL call over UDP)" in_net timeout 10 rpcinfo -u 10.0.0.5 status 1
ok "rpcinfo -T udp status (GETADDR, NULL call over UDP)" in_net timeout 10 rpcinfo -T udp 10.0.0.5 status 1
ok "rpcinfo -t status (GETPORT, NULL call over TCP)" in_net timeout 10 rpcinfo -t 10.0.0.5 status 1
fails "TCP to 10.0.0.5:40009, announced by nobody" in_net timeout 5 ncat -z 10.0.0.5 40009

sleep 1
kill -INT "$CAP_PID" 2>/dev/null || true
wait "$CAP_PID" 2>/dev/null || true
CAP_PID=""

C=$WORK/cap/related.pcap
count() { tshark -r "$C" -Y "$1" 2>/dev/null | wc -l; }
check() { local n; n=$(count "$2"); [[ $n == "$1" ]] || die "$3: $n frames match '$2', want $1"; log "  ok: $3 ($n)"; }
check 1 'ftp.response.code==229' 'EPSV reply'
check 1 'ftp.response.code==227' 'PASV reply'
check 1 'ftp.request.command=="EPRT"' 'EPRT command'
check 1 'ftp.request.command=="PORT"' 'PORT command'
check 2 'tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.srcport==20' 'active data connections from port 20'
check 2 'tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport>=40000 && tcp.dstport<=40008' 'passive data connections'
check 1 'tcp.flags.syn==1 && tcp.flags.ack==0 && tcp.dstport==40009' 'the unannounced connection'
# rpcinfo asks rpcbind version 4 (GETADDR) first, and gets its answer.
check 4 'portmap.procedure_v4==3 && rpc.msgtyp==1' 'GETADDR replies'
check 1 'portmap.procedure_v2==4 && rpc.msgtyp==1' 'DUMP replies'
check 3 'stat.procedure_v1==0 && rpc.msgtyp==1' 'statd NULL replies'

mkdir -p "$OUT_DIR"
editcap -F pcapng "$C" "$OUT_DIR/related.pcapng"
if [[ -n ${SUDO_UID:-} ]]; then chown "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$OUT_DIR/related.pcapng"; fi
ls -l "$OUT_DIR/related.pcapng"
log "done"
