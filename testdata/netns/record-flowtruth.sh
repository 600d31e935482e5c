#!/usr/bin/env bash
# record-flowtruth.sh - record the two captures of issue 16 (flow truth) in a
# throw-away lab of two network namespaces joined by one veth pair:
#
#   wcft-cli (c0: 10.16.0.2/24)   the client; captures are taken on c0
#   wcft-srv (s0: 10.16.0.1/24)   a server: ncat listening on TCP 443
#
# halfopen.pcap    nftables in wcft-cli drops every TCP segment with ACK the
#                  client sends to port 443, in the output hook, before the
#                  capture point on c0: the capture holds the SYN and the
#                  server's SYN-ACKs (retransmitted) and never the client's
#                  ACK, which is what a tap by the server sees when a
#                  firewall drops the client's ACKs: half-open.
# oneway-out.pcap  tcpdump -Q out on c0 while the client connects to port 443,
#                  sends a line and reads the echo: only the client's
#                  direction is recorded (SYN, its ACK of the server's SYN,
#                  data, FIN): one-sided, and answered.
#
# Traffic never leaves the namespaces; every command that could hang runs
# under timeout; an EXIT trap removes the namespaces and the processes.
#
# Usage: sudo testdata/netns/record-flowtruth.sh [OUTDIR]  (default testdata/captures)
set -Eeuo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT_DIR=${1:-$SCRIPT_DIR/../captures}
CLI=wcft-cli SRV=wcft-srv
declare -a PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	ip netns del "$CLI" 2>/dev/null || true
	ip netns del "$SRV" 2>/dev/null || true
}
trap cleanup EXIT

for tool in ip nft tcpdump ncat timeout; do
	command -v "$tool" >/dev/null || { echo "record-flowtruth: $tool is missing" >&2; exit 1; }
done
# lab builds the namespaces and starts the echo server. Each recording gets
# a fresh lab, so that no socket of one (the half-open client retransmits
# its FIN for a while) leaks into the next.
lab() {
	cleanup
	PIDS=()
	ip netns add "$CLI"
	ip netns add "$SRV"
	ip link add c0 netns "$CLI" type veth peer name s0 netns "$SRV"
	ip -n "$CLI" addr add 10.16.0.2/24 dev c0
	ip -n "$SRV" addr add 10.16.0.1/24 dev s0
	ip -n "$CLI" link set lo up
	ip -n "$SRV" link set lo up
	ip -n "$CLI" link set c0 up
	ip -n "$SRV" link set s0 up
	sleep 1
	ip netns exec "$SRV" timeout 30 ncat -lk 10.16.0.1 443 --sh-exec cat &
	PIDS+=($!)
	sleep 0.5
}

capture() { # capture FILE TCPDUMP-ARGS...: start tcpdump on c0, wait until it listens
	local file=$1; shift
	ip netns exec "$CLI" timeout 30 tcpdump -i c0 -n -s 0 -U -w "$file" "$@" 'tcp port 443' 2>"$file.log" &
	PIDS+=($!)
	local i
	for i in $(seq 1 50); do
		grep -q "listening on" "$file.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "record-flowtruth: tcpdump did not start" >&2
	exit 1
}
stop() { # stop: end the last tcpdump
	sleep 0.5
	kill "${PIDS[-1]}" 2>/dev/null || true
	wait "${PIDS[-1]}" 2>/dev/null || true
}

# 1. Half-open: the client's ACKs to 443 are dropped on their way out, after
# the capture point (nftables output hooks run before the packet reaches the
# device, so the capture on c0 never sees them: what a server-side tap sees
# when an asymmetric firewall drops the client's ACKs).
lab
ip netns exec "$CLI" nft -f - <<'NFT'
table inet wcft {
	chain out {
		type filter hook output priority 0; policy accept;
		tcp dport 443 tcp flags & ack == ack drop
	}
}
NFT
capture "$OUT_DIR/halfopen.pcap"
# The client thinks it is connected and writes; its segments are dropped.
echo hello | ip netns exec "$CLI" timeout 4 ncat --send-only 10.16.0.1 443 || true
sleep 3.5 # the server retransmits its SYN-ACK at 1 s and 3 s
stop

# 2. One direction only: tcpdump -Q out on the client.
lab
capture "$OUT_DIR/oneway-out.pcap" -Q out
printf 'hello\n' | ip netns exec "$CLI" timeout 4 ncat -i 1 10.16.0.1 443 >/dev/null 2>&1 || true
stop
rm -f "$OUT_DIR"/halfopen.pcap.log "$OUT_DIR"/oneway-out.pcap.log
ls -l "$OUT_DIR"/halfopen.pcap "$OUT_DIR"/oneway-out.pcap
