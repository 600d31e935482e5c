#!/usr/bin/env bash
# record.sh - record wirecheck's reference captures in a throw-away lab.
#
# Builds two network namespaces joined by one veth pair:
#
#   wcrec-gw  (gw0: 10.0.0.5/24, fd00::5/64)   the appliance ("agent host");
#                                              all captures are taken on gw0
#   wcrec-net (net0: 10.0.0.1/24, fd00::1/64   "the rest of the world": every
#              + the lab's other addresses)    server and every remote client
#
# and runs real programs (curl, openssl, dig, dnsmasq, ncat, rpcbind/rpcinfo,
# chronyd, sshd/ssh, ping, nft) between them while tcpdump records gw0.
# Traffic never leaves the two namespaces: wcrec-net has no route anywhere
# else and does not forward.  Every command that could hang runs under
# `timeout`, every loop is bounded, and an EXIT trap removes the namespaces,
# the processes started here, /etc/netns/wcrec-* and the work directory.
#
# Usage:  sudo testdata/netns/record.sh [OUTDIR]
#   OUTDIR defaults to testdata/captures next to this script's testdata/.
#   WCREC_NO_INSTALL=1 skips the apt-get step (fails if a tool is missing).
#   WCREC_LOGS=DIR keeps the lab's logs (servers, clients, dnsmasq queries).
#
# Produces (see testdata/captures/README.md for the flow-by-flow ground truth):
#   filegw-conformant.pcapng  filegw-faulty.pcap  datasync-vpc.pcapng
#   tls-legacy.pcapng         misc.pcapng
set -Eeuo pipefail
shopt -s inherit_errexit 2>/dev/null || true

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LC_ALL=C
umask 022

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/../.." && pwd)
OUT_DIR=${1:-$REPO_ROOT/testdata/captures}

GW=wcrec-gw
NET=wcrec-net
PREFIX=wcrec-
WORK=""
CREATED_POLICY_RC=0
CREATED_ETC_NETNS=0
declare -a BG_PIDS=()
CAP_PID=""

log() { printf '[record %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- cleanup --

kill_pid() { # kill_pid PID: TERM, wait up to 2 s, then KILL
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 20); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

teardown_lab() {
	local ns pid
	if [[ -n "$CAP_PID" ]]; then kill_pid "$CAP_PID"; CAP_PID=""; fi
	for pid in "${BG_PIDS[@]}"; do kill_pid "$pid"; done
	BG_PIDS=()
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		[[ $ns == "$PREFIX"* ]] || continue
		# Anything still alive inside a namespace of ours was started by
		# this script (or by an earlier, interrupted run of it).
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill_pid "$pid"; done
		ip netns del "$ns" 2>/dev/null || true
	done
	for ns in "$GW" "$NET"; do
		rm -rf "/etc/netns/$ns"
	done
	if [[ $CREATED_ETC_NETNS == 1 ]]; then rmdir /etc/netns 2>/dev/null || true; fi
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	teardown_lab
	if [[ $CREATED_POLICY_RC == 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
	if [[ -n "$WORK" && -d "$WORK" ]]; then
		if [[ $rc != 0 ]]; then
			log "logs of the failed run:"
			for f in "$WORK"/logs/*; do
				[[ -s $f ]] || continue
				printf -- '--- %s\n' "$(basename "$f")" >&2
				tail -n 20 "$f" >&2
			done
		fi
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------ preflight --

[[ $(id -u) == 0 ]] || die "must run as root (sudo $0)"

# command -> Debian package providing it
declare -A PKG_OF=(
	[ip]=iproute2 [ss]=iproute2 [tcpdump]=tcpdump [editcap]=wireshark-common
	[tshark]=tshark [curl]=curl [openssl]=openssl [dig]=bind9-dnsutils
	[dnsmasq]=dnsmasq-base [ncat]=ncat [rpcbind]=rpcbind [rpcinfo]=rpcbind
	[chronyd]=chrony [sshd]=openssh-server [ssh]=openssh-client
	[ssh-keygen]=openssh-client [ping]=iputils-ping [nft]=nftables
	[timeout]=coreutils
)

install_missing() {
	local -a missing=()
	local cmd pkg
	for cmd in "${!PKG_OF[@]}"; do
		pkg=${PKG_OF[$cmd]}
		if ! command -v "$cmd" >/dev/null 2>&1 || ! dpkg -s "$pkg" >/dev/null 2>&1; then
			[[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
		fi
	done
	((${#missing[@]})) || return 0
	[[ ${WCREC_NO_INSTALL:-0} == 1 ]] && die "missing packages: ${missing[*]}"
	log "installing: ${missing[*]}"
	# Some of these packages (rpcbind, openssh-server, chrony) ship a service
	# that Debian would start on the host; the lab runs its own private
	# copies, so keep the host's services from being started by the install.
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		CREATED_POLICY_RC=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	timeout 300 apt-get update -qq || true
	timeout 900 apt-get install -y -qq --no-install-recommends "${missing[@]}"
	if [[ $CREATED_POLICY_RC == 1 ]]; then rm -f /usr/sbin/policy-rc.d; CREATED_POLICY_RC=0; fi
	for cmd in "${!PKG_OF[@]}"; do
		command -v "$cmd" >/dev/null 2>&1 || die "still missing after install: $cmd"
	done
}
install_missing

WORK=$(mktemp -d /tmp/wcrec.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/logs" "$WORK/cap" "$WORK/etc"

# A previous run that was killed with SIGKILL may have left a lab behind.
teardown_lab

# --------------------------------------------------------------- helpers --

in_gw() { ip netns exec "$GW" "$@"; }
in_net() { ip netns exec "$NET" "$@"; }

# privrun CMD...: run CMD with a private, empty /run (tmpfs), so daemons that
# insist on /run/<something> (rpcbind, sshd, chronyd) leave no trace on the
# host.  `ip netns exec` already gives each command its own mount namespace.
PRIVRUN='mount -t tmpfs -o mode=755 wcrec-run /run &&
	mkdir -p /run/sshd /run/rpcbind /run/chrony &&
	chown _rpc /run/rpcbind 2>/dev/null; exec "$@"'

# bg NAME NS CMD...: start a long-running lab process in the background.
bg() {
	local name=$1 ns=$2; shift 2
	ip netns exec "$ns" "$@" >"$WORK/logs/$name.log" 2>&1 &
	BG_PIDS+=("$!")
}

# wait_listen NS tcp|udp ADDR PORT: wait (max 5 s) until something listens.
wait_listen() {
	local ns=$1 proto=$2 addr=$3 port=$4 i flag=-Hltn
	[[ $proto == udp ]] && flag=-Hlun
	[[ $addr == *:* ]] && addr="[$addr]"
	for i in $(seq 1 50); do
		if ip netns exec "$ns" ss $flag 2>/dev/null | awk '{print $4}' |
			grep -qxF -e "$addr:$port" -e "*:$port" -e "0.0.0.0:$port"; then
			return 0
		fi
		sleep 0.1
	done
	die "nothing listening on $ns $proto $addr:$port"
}

pause() { sleep 0.3; }

# ok DESC CMD...: the command must succeed.
ok() {
	local desc=$1 rc=0; shift
	log "  + $desc"
	"$@" >>"$WORK/logs/clients.log" 2>&1 || rc=$?
	[[ $rc == 0 ]] || die "expected success, got rc=$rc: $desc"
	pause
}

# fails DESC CMD...: the command must fail (refused, timed out, denied...).
fails() {
	local desc=$1 rc=0; shift
	log "  + $desc (expected to fail)"
	"$@" >>"$WORK/logs/clients.log" 2>&1 || rc=$?
	[[ $rc != 0 ]] || die "expected failure, got rc=0: $desc"
	log "    failed as intended (rc=$rc)"
	pause
}

capture_start() { # capture_start FILE (in $WORK/cap, classic pcap)
	local file=$1 i
	CAP_FILE=$file
	: >"$WORK/logs/tcpdump.log"
	ip netns exec "$GW" timeout 300 tcpdump -i gw0 -s 0 -U -n -Z root \
		-w "$WORK/cap/$file" >"$WORK/logs/tcpdump.log" 2>&1 &
	CAP_PID=$!
	for i in $(seq 1 50); do
		grep -q 'listening on' "$WORK/logs/tcpdump.log" && break
		sleep 0.1
	done
	grep -q 'listening on' "$WORK/logs/tcpdump.log" || die "tcpdump did not start"
	log "capture $file started"
	sleep 0.5
}

capture_stop() {
	local i
	sleep 1 # let the last packets (FIN/ACK, ICMP) land
	kill -INT "$CAP_PID" 2>/dev/null || true
	for i in $(seq 1 50); do
		kill -0 "$CAP_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill_pid "$CAP_PID"
	wait "$CAP_PID" 2>/dev/null || true
	CAP_PID=""
	log "capture $CAP_FILE stopped: $(grep -E 'packets? captured' "$WORK/logs/tcpdump.log" || echo '?')"
}

# --------------------------------------------------------------- the lab --

log "building the lab"
ip netns add "$GW"
ip netns add "$NET"

if [[ ! -d /etc/netns ]]; then CREATED_ETC_NETNS=1; fi
for ns in "$GW" "$NET"; do
	mkdir -p "/etc/netns/$ns"
	# `ip netns exec` bind-mounts these over /etc/resolv.conf and /etc/hosts,
	# so every resolver in the lab asks the lab's dnsmasq and nothing else.
	printf 'nameserver 10.0.0.53\noptions timeout:2 attempts:2\n' >"/etc/netns/$ns/resolv.conf"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"/etc/netns/$ns/hosts"
done

for ns in "$GW" "$NET"; do
	in_x() { ip netns exec "$ns" "$@"; }
	in_x sysctl -qw net.ipv4.ip_forward=0
	in_x sysctl -qw net.ipv6.conf.all.forwarding=0
	# no router solicitations / DAD noise from the fresh interfaces
	in_x sysctl -qw net.ipv6.conf.default.router_solicitations=0
	in_x sysctl -qw net.ipv6.conf.default.accept_ra=0
	in_x sysctl -qw net.ipv6.conf.default.dad_transmits=0
	in_x ip link set lo up
done

# Fixed MAC addresses make link-layer headers and link-local v6 addresses
# the same on every run.
ip -n "$GW" link add gw0 address 02:00:00:00:00:05 type veth \
	peer name net0 address 02:00:00:00:00:01 netns "$NET"

in_gw ip addr add 10.0.0.5/24 dev gw0
in_gw ip -6 addr add fd00::5/64 dev gw0 nodad
# Classic exponential SYN back-off (0 s, 1 s, 3 s, 7 s ...) on every kernel:
# newer kernels retransmit the first SYNs linearly (every 1 s) by default.
if in_gw sysctl -n net.ipv4.tcp_syn_linear_timeouts >/dev/null 2>&1; then
	in_gw sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0
fi
in_gw ip link set gw0 up

in_net ip addr add 10.0.0.1/24 dev net0
in_net ip -6 addr add fd00::1/64 dev net0 nodad
# The rest of the lab's addresses live on net0 so the kernel in wcrec-net
# owns them (answers ARP for the on-link 10.0.0.x ones, delivers the rest).
LAB_ADDRS=(
	10.0.0.10  # NFS client
	10.0.0.20  # web browser (activation)
	10.0.0.53  # dnsmasq
	10.0.0.66  # scanner
	10.0.0.99  # nothing listens here
	10.0.0.123 # chronyd (NTP server)
	10.0.1.50  # DataSync VPC endpoint
	10.0.1.60  # DataSync task network interface
	10.0.2.10  # HDFS NameNode
	10.0.2.11  # HDFS DataNode
	10.0.2.12  # KMS
	10.0.2.13  # Kerberos KDC
	198.51.100.10 # storagegateway.us-east-1.amazonaws.com
	198.51.100.20 # s3.us-east-1.amazonaws.com
	198.51.100.30 # legacy.storagegateway.us-east-1.amazonaws.com
	198.51.100.40 # ssh-on-443.example.net
	203.0.113.25  # mail.example.net
)
for a in "${LAB_ADDRS[@]}"; do in_net ip addr add "$a/32" dev net0; done
in_net ip link set net0 up

in_gw ip route add default via 10.0.0.1 dev gw0
in_gw ip -6 route add default via fd00::1 dev gw0

for i in $(seq 1 50); do
	in_gw ping -c 1 -W 1 10.0.0.1 >/dev/null 2>&1 && break
	sleep 0.1
done
in_gw ping -c 1 -W 1 10.0.0.1 >/dev/null || die "veth link does not work"

# ------------------------------------------------------- server material --

log "generating throw-away keys and server scripts"
timeout 60 openssl req -x509 -newkey rsa:2048 -nodes -days 3 \
	-subj '/CN=*.us-east-1.amazonaws.com' \
	-addext 'subjectAltName=DNS:storagegateway.us-east-1.amazonaws.com,DNS:s3.us-east-1.amazonaws.com,DNS:legacy.storagegateway.us-east-1.amazonaws.com,DNS:eni-task.datasync.example.internal,IP:10.0.1.60' \
	-keyout "$WORK/etc/tls.key" -out "$WORK/etc/tls.crt" >"$WORK/logs/openssl-req.log" 2>&1
timeout 60 ssh-keygen -q -t ed25519 -N '' -C wcrec-lab -f "$WORK/etc/ssh_host_ed25519_key"

# HTTP responder for the gateway's port 80 (activation).  Reads the request
# head (bounded), answers with a 302 that carries an activation key, closes.
cat >"$WORK/etc/http80.sh" <<'EOF'
i=0
while [ $i -lt 64 ] && IFS= read -r line; do
	i=$((i + 1))
	case "$line" in "" | "$(printf '\r')") break ;; esac
done
body='<html><body>wirecheck lab gateway: activation key issued</body></html>'
printf 'HTTP/1.1 302 Found\r\nLocation: https://console.aws.amazon.com/storagegateway/home?region=us-east-1&activationKey=WCREC-LABKE-Y0000-00000-00001\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "${#body}" "$body"
EOF

# Small HTTP responder for the IPv6 listener on fd00::1 port 8080.
cat >"$WORK/etc/http8080.sh" <<'EOF'
i=0
while [ $i -lt 64 ] && IFS= read -r line; do
	i=$((i + 1))
	case "$line" in "" | "$(printf '\r')") break ;; esac
done
body='wirecheck lab: hello over IPv6'
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s\n' "$((${#body} + 1))" "$body"
EOF

# ONC RPC over TCP: read one 44-byte NULL call (record mark + 40 bytes),
# answer with an accepted/SUCCESS reply carrying the caller's XID.  The reply
# is assembled first and written with one write(), so it is one segment.
cat >"$WORK/etc/rpcnull.sh" <<'EOF'
req=$(mktemp)
rep=$(mktemp)
head -c 44 >"$req"
{
	printf '\200\000\000\030'
	dd if="$req" bs=1 skip=4 count=4 2>/dev/null
	printf '\000\000\000\001\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000'
} >"$rep"
cat "$rep"
rm -f "$req" "$rep"
EOF

# Generic line service: read one line, answer one line naming the port, close.
cat >"$WORK/etc/line.sh" <<'EOF'
IFS= read -r line
printf 'WCREC-OK %s\n' "$1"
EOF

# SMTP-ish listener: banner, 250 to anything, 221 to QUIT (bounded).
cat >"$WORK/etc/smtp.sh" <<'EOF'
printf '220 mail.example.net ESMTP\r\n'
i=0
while [ $i -lt 16 ] && IFS= read -r line; do
	i=$((i + 1))
	case "$line" in
	QUIT* | quit*) printf '221 2.0.0 mail.example.net closing connection\r\n'; exit 0 ;;
	*) printf '250 mail.example.net\r\n' ;;
	esac
done
EOF

# All ncat clients below use --no-shutdown: an `ncat --exec` server drops the
# connection as soon as it reads EOF from its peer, so a client that
# half-closed after sending would never see the answer.
#
# ONC RPC NULL calls (TCP record mark 0x80000028 + 40-byte call):
#   xid, CALL(0), rpcvers 2, prog, vers, proc 0 (NULL), AUTH_NONE cred+verf.
rpc_null_call() { # rpc_null_call XID_OCTAL PROG_OCTAL VERS_OCTAL
	printf "\\200\\000\\000\\050$1\\000\\000\\000\\000\\000\\000\\000\\002$2$3"
	printf '\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000'
}
# NFS (100003 = 0x000186a3) v3, xid 0x57430001 ("WC\0\1")
rpc_null_call '\127\103\000\001' '\000\001\206\243' '\000\000\000\003' >"$WORK/etc/nfs-null.bin"
# MOUNT (100005 = 0x000186a5) v3, xid 0x57430002
rpc_null_call '\127\103\000\002' '\000\001\206\245' '\000\000\000\003' >"$WORK/etc/mount-null.bin"
[[ $(stat -c %s "$WORK/etc/nfs-null.bin") == 44 ]] || die "bad RPC call bytes"

cat >"$WORK/etc/chrony-server.conf" <<EOF
# NTP server for the lab; never touches the clock (chronyd runs with -x).
bindaddress 10.0.0.123
port 123
allow all
local stratum 8
cmdport 0
bindcmdaddress /
pidfile $WORK/chronyd-server.pid
EOF

cat >"$WORK/etc/sshd_config" <<EOF
Port 443
ListenAddress 198.51.100.40
HostKey $WORK/etc/ssh_host_ed25519_key
PidFile $WORK/sshd.pid
UsePAM no
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile none
UseDNS no
LogLevel VERBOSE
EOF
chmod 600 "$WORK/etc/ssh_host_ed25519_key"

# --------------------------------------------------------------- servers --

log "starting lab servers"
# DNS: authoritative for the lab names only; never forwards anywhere.  The
# --local domains make AAAA queries for the (IPv4-only) lab names come back
# NOERROR/no data instead of REFUSED, as a real authoritative server would.
bg dnsmasq "$NET" timeout 900 dnsmasq --keep-in-foreground --conf-file=/dev/null \
	--no-resolv --no-hosts --no-poll --bind-interfaces --listen-address=10.0.0.53 \
	--except-interface=lo --port=53 --user=root --pid-file="$WORK/dnsmasq.pid" \
	--log-queries --log-facility="$WORK/logs/dnsmasq-queries.log" \
	--local-ttl=60 --local=/amazonaws.com/example.net/example.internal/ntp.org/ \
	--host-record=storagegateway.us-east-1.amazonaws.com,198.51.100.10 \
	--host-record=s3.us-east-1.amazonaws.com,198.51.100.20 \
	--host-record=legacy.storagegateway.us-east-1.amazonaws.com,198.51.100.30 \
	--host-record=ssh-on-443.example.net,198.51.100.40 \
	--host-record=mail.example.net,203.0.113.25 \
	--host-record=0.amazon.pool.ntp.org,10.0.0.123 \
	--host-record=vpce-datasync.example.internal,10.0.1.50 \
	--host-record=eni-task.datasync.example.internal,10.0.1.60 \
	--host-record=namenode.hdfs.example.internal,10.0.2.10 \
	--host-record=datanode.hdfs.example.internal,10.0.2.11 \
	--host-record=kms.hdfs.example.internal,10.0.2.12 \
	--host-record=kdc.hdfs.example.internal,10.0.2.13
wait_listen "$NET" udp 10.0.0.53 53

# NTP server (-x: never adjust the clock, -4: IPv4 only, -n: foreground).
bg chronyd-server "$NET" timeout 900 sh -c "$PRIVRUN" sh \
	chronyd -n -x -4 -u root -f "$WORK/etc/chrony-server.conf"
wait_listen "$NET" udp 10.0.0.123 123

# TLS servers (-www answers a GET with a small status page and closes).
tls_server() { # tls_server NAME ADDR PORT [extra s_server options]
	local name=$1 addr=$2 port=$3; shift 3
	bg "$name" "$NET" timeout 900 openssl s_server -quiet -www \
		-accept "$addr:$port" -cert "$WORK/etc/tls.crt" -key "$WORK/etc/tls.key" "$@"
	wait_listen "$NET" tcp "$addr" "$port"
}
tls_server tls-sgw 198.51.100.10 443
tls_server tls-s3 198.51.100.20 443
tls_server tls-eni 10.0.1.60 443
tls_server tls-legacy10 198.51.100.30 443 -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
tls_server tls-legacy12 198.51.100.30 8443 -tls1_2 -cipher 'AES128-GCM-SHA256'
tls_server tls-legacy13 198.51.100.30 9443 -tls1_3

# SMTP-ish banner service.
bg smtp "$NET" timeout 900 ncat -k -l 203.0.113.25 25 --exec "/bin/sh $WORK/etc/smtp.sh"
wait_listen "$NET" tcp 203.0.113.25 25

# DataSync VPC endpoint ports and the HDFS cluster.
for port in 1024 1040 1064 1065; do
	bg "vpce-$port" "$NET" timeout 900 ncat -k -l 10.0.1.50 "$port" --exec "/bin/sh $WORK/etc/line.sh $port"
	wait_listen "$NET" tcp 10.0.1.50 "$port"
done
for svc in 10.0.2.10:8020 10.0.2.11:50010 10.0.2.12:9600 10.0.2.13:88; do
	bg "hdfs-${svc##*:}" "$NET" timeout 900 ncat -k -l "${svc%%:*}" "${svc##*:}" --exec "/bin/sh $WORK/etc/line.sh ${svc##*:}"
	wait_listen "$NET" tcp "${svc%%:*}" "${svc##*:}"
done

# SSH on port 443.
bg sshd "$NET" timeout 900 sh -c "$PRIVRUN" sh /usr/sbin/sshd -D -e -f "$WORK/etc/sshd_config"
wait_listen "$NET" tcp 198.51.100.40 443

# IPv6 HTTP listener.
bg http8080 "$NET" timeout 900 ncat -6 -k -l fd00::1 8080 --exec "/bin/sh $WORK/etc/http8080.sh"
wait_listen "$NET" tcp fd00::1 8080

# The gateway's own services: rpcbind (111), NFS (2049), mountd (20048), HTTP (80).
bg rpcbind "$GW" timeout 900 sh -c "$PRIVRUN" sh rpcbind -f
wait_listen "$GW" tcp 0.0.0.0 111
bg nfsd "$GW" timeout 900 ncat -k -l 10.0.0.5 2049 --exec "/bin/sh $WORK/etc/rpcnull.sh"
wait_listen "$GW" tcp 10.0.0.5 2049
bg mountd "$GW" timeout 900 ncat -k -l 10.0.0.5 20048 --exec "/bin/sh $WORK/etc/rpcnull.sh"
wait_listen "$GW" tcp 10.0.0.5 20048
bg http80 "$GW" timeout 900 ncat -k -l 10.0.0.5 80 --exec "/bin/sh $WORK/etc/http80.sh"
wait_listen "$GW" tcp 10.0.0.5 80

# Let interface bring-up chatter (MLD reports etc.) die down before recording.
sleep 3

# --------------------------------------------------------------- clients --

CURL=(curl -sS -o /dev/null --max-time 10)
NTP_CLIENT=(timeout 20 chronyd -Q -t 15 -4 'server 10.0.0.123 iburst maxsamples 2'
	'cmdport 0' 'bindcmdaddress /' "pidfile $WORK/chronyd-client.pid")

gw_dig() { # gw_dig NAME: one A query through the lab resolver
	in_gw timeout 10 dig +tries=1 +time=3 +short A "$1"
}
gw_ntp() { in_gw timeout 25 sh -c "$PRIVRUN" sh "${NTP_CLIENT[@]}"; }
gw_https() { in_gw timeout 15 "${CURL[@]}" -k "$@"; }

activation_get() {
	in_net timeout 15 "${CURL[@]}" --interface 10.0.0.20 \
		'http://10.0.0.5/?activationRegion=us-east-1'
}
nfs_client_steps() {
	# rpcinfo cannot choose its source address: make 10.0.0.10 the source
	# wcrec-net uses towards the gateway while the NFS client "runs".
	in_net ip route replace 10.0.0.5/32 dev net0 src 10.0.0.10
	ok "10.0.0.10 -> gw:111/tcp rpcinfo -p" in_net timeout 10 rpcinfo -p 10.0.0.5
	ok "10.0.0.10 -> gw:111/udp rpcinfo -T udp (portmapper v2 NULL)" \
		in_net timeout 10 rpcinfo -T udp 10.0.0.5 100000 2
	in_net ip route del 10.0.0.5/32 dev net0
	ok "10.0.0.10 -> gw:2049/tcp NFSv3 NULL call" \
		in_net timeout 10 sh -c "ncat --no-shutdown -s 10.0.0.10 10.0.0.5 2049 <$WORK/etc/nfs-null.bin | od -An -tx1"
	ok "10.0.0.10 -> gw:20048/tcp MOUNTv3 NULL call" \
		in_net timeout 10 sh -c "ncat --no-shutdown -s 10.0.0.10 10.0.0.5 20048 <$WORK/etc/mount-null.bin | od -An -tx1"
}

# SMTP client: wait for the 220 banner, send QUIT, wait for the 221, and let
# the server close.  (A blind "sleep; QUIT" can race the banner.)
smtp_client() {
	in_gw timeout 10 bash -c '
		coproc NC { ncat --no-shutdown mail.example.net 25; }
		IFS= read -r -t 5 banner <&"${NC[0]}" || exit 1
		printf "%s\n" "$banner"
		[[ $banner == 220* ]] || exit 1
		printf "QUIT\r\n" >&"${NC[1]}"
		IFS= read -r -t 5 bye <&"${NC[0]}" || exit 1
		printf "%s\n" "$bye"
		[[ $bye == 221* ]] || exit 1
		pid=$NC_PID fd=${NC[1]}
		exec {fd}>&-   # ncat --no-shutdown exits once its stdin is closed too
		wait "$pid"'
}

# ---- 1. filegw-conformant ---------------------------------------------------
capture_start filegw-conformant.pcap
ok "dig 0.amazon.pool.ntp.org" gw_dig 0.amazon.pool.ntp.org
ok "NTP gw -> 10.0.0.123:123 (chronyd -Q)" gw_ntp
ok "HTTPS gw -> storagegateway.us-east-1.amazonaws.com" gw_https https://storagegateway.us-east-1.amazonaws.com/
ok "HTTPS gw -> s3.us-east-1.amazonaws.com" gw_https https://s3.us-east-1.amazonaws.com/
ok "HTTP 10.0.0.20 -> gw:80 activation GET" activation_get
nfs_client_steps
capture_stop

# ---- 2. filegw-faulty -------------------------------------------------------
# The fault rule lives only for the duration of this capture.
in_net nft -f - <<'EOF'
table inet wcrec_fault {
	chain input {
		type filter hook input priority 0; policy accept;
		ip daddr 198.51.100.10 tcp dport 443 drop
	}
}
EOF
capture_start filegw-faulty.pcap
ok "dig 0.amazon.pool.ntp.org" gw_dig 0.amazon.pool.ntp.org
# (a) no NTP at all
# (d) HTTPS to storagegateway silently dropped: SYNs at ~0 s, ~1 s, ~3 s,
#     curl gives up at 5 s (the 4th SYN would go out at ~7 s)
fails "HTTPS gw -> storagegateway.us-east-1.amazonaws.com (dropped)" \
	gw_https --connect-timeout 5 https://storagegateway.us-east-1.amazonaws.com/
ok "HTTPS gw -> s3.us-east-1.amazonaws.com" gw_https https://s3.us-east-1.amazonaws.com/
# (b) outbound SMTP
ok "SMTP gw -> mail.example.net:25 (banner, QUIT)" smtp_client
ok "HTTP 10.0.0.20 -> gw:80 activation GET" activation_get
nfs_client_steps
# (c) refused inbound telnet
fails "telnet 10.0.0.66 -> gw:23 (refused)" in_net timeout 10 ncat -s 10.0.0.66 10.0.0.5 23 </dev/null
capture_stop
in_net nft delete table inet wcrec_fault

# ---- 3. datasync-vpc --------------------------------------------------------
capture_start datasync-vpc.pcap
for name in 0.amazon.pool.ntp.org vpce-datasync.example.internal eni-task.datasync.example.internal \
	namenode.hdfs.example.internal datanode.hdfs.example.internal kms.hdfs.example.internal \
	kdc.hdfs.example.internal; do
	ok "dig $name" gw_dig "$name"
done
ok "NTP gw -> 10.0.0.123:123 (chronyd -Q)" gw_ntp
for port in 1024 1040 1064 1065; do
	ok "TCP gw -> VPC endpoint 10.0.1.50:$port" \
		in_gw timeout 10 sh -c "printf 'WCREC-HELLO $port\n' | ncat --no-shutdown 10.0.1.50 $port"
done
ok "HTTPS gw -> task ENI 10.0.1.60:443" gw_https https://10.0.1.60/
for svc in 10.0.2.10:8020 10.0.2.11:50010 10.0.2.12:9600 10.0.2.13:88; do
	ok "TCP gw -> $svc" in_gw timeout 10 sh -c "printf 'WCREC-HELLO ${svc##*:}\n' | ncat --no-shutdown ${svc%%:*} ${svc##*:}"
done
capture_stop

# ---- 4. tls-legacy ----------------------------------------------------------
LEGACY=legacy.storagegateway.us-east-1.amazonaws.com
s_client() { # s_client PORT [options]: one handshake + GET, then close
	local port=$1; shift
	in_gw timeout 15 sh -c 'printf "GET / HTTP/1.0\r\n\r\n" | openssl s_client -quiet -ign_eof "$@"' sh \
		-connect "$LEGACY:$port" -servername "$LEGACY" "$@"
}
capture_start tls-legacy.pcap
ok "TLS 1.0 gw -> $LEGACY:443" s_client 443 -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
ok "TLS 1.2 RSA-kx gw -> $LEGACY:8443" s_client 8443 -tls1_2
ok "TLS 1.3 gw -> $LEGACY:9443" s_client 9443 -tls1_3
capture_stop

# ---- 5. misc ----------------------------------------------------------------
in_net nft -f - <<'EOF'
table inet wcrec_misc {
	chain input {
		type filter hook input priority 0; policy accept;
		ip daddr 10.0.0.1 udp dport 9999 drop
	}
}
EOF
capture_start misc.pcap
fails "SSH gw -> ssh-on-443.example.net:443 (auth refused)" \
	in_gw timeout 15 ssh -F /dev/null -p 443 -o BatchMode=yes -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=5 \
	-o PubkeyAuthentication=no -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
	-o GSSAPIAuthentication=no -o HostbasedAuthentication=no -o LogLevel=ERROR \
	wcrec@ssh-on-443.example.net true
ok "dig mail.example.net" gw_dig mail.example.net
ok "UDP gw -> 10.0.0.99:5000 (port unreachable)" \
	in_gw timeout 5 sh -c "printf 'WCREC-PROBE\n' | ncat -u --send-only 10.0.0.99 5000"
ok "ping gw -> 10.0.0.1 x2" in_gw timeout 10 ping -n -c 2 -i 0.5 -W 2 10.0.0.1
ok "ping6 gw -> fd00::1" in_gw timeout 10 ping -6 -n -c 1 -W 2 fd00::1
ok "HTTP over IPv6 gw -> [fd00::1]:8080" in_gw timeout 15 "${CURL[@]}" -6 -g 'http://[fd00::1]:8080/hello'
ok "UDP gw -> 10.0.0.1:9999 (silently dropped)" \
	in_gw timeout 5 sh -c "printf 'WCREC-NOREPLY\n' | ncat -u --send-only 10.0.0.1 9999"
capture_stop
in_net nft delete table inet wcrec_misc

# ---------------------------------------------------------------- checks --
# A few facts about each capture that the README's tables rely on.  A run
# whose captures do not show them fails before anything is written.

CHECK_FAILED=0
count() { # count FILE DISPLAY-FILTER: number of matching frames
	timeout 60 tshark -n -r "$WORK/cap/$1" -Y "$2" 2>/dev/null | wc -l
}
expect() { # expect FILE OP N DISPLAY-FILTER DESC
	local file=$1 op=$2 want=$3 filter=$4 desc=$5 got
	got=$(count "$file" "$filter")
	if [[ $op == "=" && $got -eq $want ]] || [[ $op == ">=" && $got -ge $want ]]; then
		log "  ok   $file: $desc ($got)"
	else
		log "  FAIL $file: $desc: want $op $want, got $got  [$filter]"
		CHECK_FAILED=1
	fi
}
SYNACK='tcp.flags.syn==1 && tcp.flags.ack==1'
log "checking the captures with tshark"
C=filegw-conformant.pcap
expect $C = 2 'ntp && ip.src==10.0.0.123' 'NTP server responses'
expect $C = 1 "$SYNACK && ip.src==198.51.100.10" 'HTTPS to storagegateway accepted'
expect $C = 1 "$SYNACK && ip.src==198.51.100.20" 'HTTPS to s3 accepted'
expect $C = 2 'tls.handshake.type==2' 'TLS ServerHellos'
expect $C = 1 'http.response.code==302 && ip.dst==10.0.0.20' 'activation 302'
expect $C = 2 "$SYNACK && tcp.srcport==111" 'rpcbind TCP connections'
expect $C = 2 'udp.srcport==111' 'rpcbind UDP replies'
expect $C = 1 'rpc.msgtyp==1 && tcp.srcport==2049' 'NFS NULL reply'
expect $C = 1 'rpc.msgtyp==1 && tcp.srcport==20048' 'MOUNT NULL reply'
expect $C = 0 'tcp.flags.reset==1' 'TCP resets'
C=filegw-faulty.pcap
expect $C = 0 'udp.port==123' 'NTP packets'
expect $C = 3 'tcp.flags.syn==1 && ip.dst==198.51.100.10' 'SYNs to storagegateway'
expect $C = 0 'ip.src==198.51.100.10' 'packets from storagegateway'
expect $C = 1 "$SYNACK && ip.src==198.51.100.20" 'HTTPS to s3 accepted'
expect $C = 1 'smtp.response.code==220' 'SMTP banner'
expect $C = 1 'smtp.response.code==221' 'SMTP QUIT answered'
expect $C = 3 'smtp' 'SMTP segments (banner, QUIT, 221 each on its own)'
expect $C = 1 'tcp.flags.syn==1 && tcp.dstport==23 && ip.src==10.0.0.66' 'telnet SYN'
expect $C = 1 'tcp.flags.reset==1 && tcp.srcport==23' 'telnet RST'
expect $C = 1 'tcp.flags.reset==1' 'TCP resets'
expect $C = 1 'http.response.code==302 && ip.dst==10.0.0.20' 'activation 302'
expect $C = 1 'rpc.msgtyp==1 && tcp.srcport==2049' 'NFS NULL reply'
expect $C = 1 'rpc.msgtyp==1 && tcp.srcport==20048' 'MOUNT NULL reply'
C=datasync-vpc.pcap
expect $C = 7 'dns.flags.response==1' 'DNS answers'
expect $C = 2 'ntp && ip.src==10.0.0.123' 'NTP server responses'
for port in 1024 1040 1064 1065 8020 50010 9600 88; do
	expect $C = 1 "tcp.srcport==$port && tcp.len>0" "data back from port $port"
done
expect $C = 1 'tls.handshake.type==2 && ip.src==10.0.1.60' 'TLS ServerHello from the task ENI'
expect $C = 0 'tcp.flags.reset==1' 'TCP resets'
C=tls-legacy.pcap
expect $C = 1 'tls.handshake.type==2 && tcp.srcport==443 && tls.handshake.version==0x0301' 'TLS 1.0 on 443'
expect $C = 1 'tls.handshake.type==2 && tcp.srcport==8443 && tls.handshake.version==0x0303 && tls.handshake.ciphersuite==0x009c' 'TLS 1.2 AES128-GCM-SHA256 on 8443'
expect $C = 1 'tls.handshake.type==2 && tcp.srcport==9443 && tls.handshake.extensions.supported_version==0x0304' 'TLS 1.3 on 9443'
expect $C = 3 'tls.handshake.type==1 && tls.handshake.extensions_server_name=="legacy.storagegateway.us-east-1.amazonaws.com"' 'ClientHellos with SNI'
expect $C = 0 'tcp.flags.reset==1' 'TCP resets'
C=misc.pcap
expect $C = 2 'tcp.payload contains "SSH-2.0-"' 'SSH banners on port 443'
expect $C = 1 'icmp.type==3 && icmp.code==3 && ip.src==10.0.0.99' 'ICMP port unreachable from 10.0.0.99'
expect $C = 2 'icmp.type==0 && ip.src==10.0.0.1' 'echo replies'
expect $C = 1 'icmpv6.type==129' 'ICMPv6 echo reply'
expect $C = 1 'http.response.code==200 && ipv6.src==fd00::1' 'HTTP over IPv6'
expect $C = 1 'udp.dstport==9999' 'UDP to 10.0.0.1:9999'
expect $C = 0 'udp.srcport==9999 || icmp.type==3 && ip.src==10.0.0.1' 'answers from 10.0.0.1:9999'
expect $C = 0 'tcp.flags.reset==1' 'TCP resets'
[[ $CHECK_FAILED == 0 ]] || die "captures do not match the expected flows; nothing written"

# ------------------------------------------------------------- outputs --

log "writing captures to $OUT_DIR"
mkdir -p "$OUT_DIR"
for f in filegw-conformant datasync-vpc tls-legacy misc; do
	editcap -F pcapng "$WORK/cap/$f.pcap" "$OUT_DIR/$f.pcapng"
done
cp "$WORK/cap/filegw-faulty.pcap" "$OUT_DIR/filegw-faulty.pcap"
if [[ -n ${SUDO_UID:-} && -n ${SUDO_GID:-} ]]; then
	chown "$SUDO_UID:$SUDO_GID" "$OUT_DIR"/filegw-conformant.pcapng "$OUT_DIR"/filegw-faulty.pcap \
		"$OUT_DIR"/datasync-vpc.pcapng "$OUT_DIR"/tls-legacy.pcapng "$OUT_DIR"/misc.pcapng
fi
if [[ -n ${WCREC_LOGS:-} ]]; then
	mkdir -p "$WCREC_LOGS" && cp -r "$WORK/logs/." "$WCREC_LOGS/"
	log "lab logs copied to $WCREC_LOGS"
fi
ls -l "$OUT_DIR"
log "done"
