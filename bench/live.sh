#!/bin/sh
# bench/live.sh: the live figures of issue 5, between two network namespaces
# joined by a veth pair (names start with wc5, so other tests can run at the
# same time).
#
#  1. tcpreplay --topspeed sends the benchmark capture into the veth while
#     `wirecheck watch --engine ebpf` watches the other end: the packets and
#     bytes it counts must equal what tcpreplay sent. Then the same with
#     --engine pcap, whose drops at that rate must be reported.
#  2. iperf3 (TCP) across the veth without and with the eBPF program
#     attached: throughput loss, and the program's own cost per packet from
#     the kernel's BPF statistics (run time / run count).
#
# Needs root. Run after `go run ./bench/run`, which writes the capture and
# builds bench/out/wirecheck; `make bench` runs both. Every step is bounded
# by timeout(1) or watch --duration; the namespaces are removed however the
# script ends.
set -eu
cd "$(dirname "$0")/.."

P=wc5
OUT=bench/out
WC=$OUT/wirecheck
CAP=${LIVE_CAPTURE:-$OUT/mix-2m.pcap}
IPERF_SECONDS=${IPERF_SECONDS:-5}
ROUNDS=${ROUNDS:-3}

if [ "$(id -u)" -ne 0 ]; then
	if [ "${CI:-}" = true ]; then
		echo "live: needs root (network namespaces, eBPF)" >&2
		exit 1
	fi
	echo "live: skipped (needs root: network namespaces, eBPF)"
	exit 0
fi
for f in "$WC" "$CAP"; do
	[ -e "$f" ] || { echo "live: $f missing: run go run ./bench/run first" >&2; exit 1; }
done
for tool in tcpreplay iperf3 jq bpftool; do
	command -v $tool >/dev/null || { echo "live: $tool not found: run make bench, which installs it" >&2; exit 1; }
done

WATCH=
IPERF=
cleanup() {
	[ -n "$WATCH" ] && kill "$WATCH" 2>/dev/null && wait "$WATCH" 2>/dev/null
	[ -n "$IPERF" ] && kill "$IPERF" 2>/dev/null
	ip netns del ${P}tx 2>/dev/null || true
	ip netns del ${P}rx 2>/dev/null || true
	[ -n "${STATS0:-}" ] && sysctl -qw kernel.bpf_stats_enabled="$STATS0"
	return 0
}
trap cleanup EXIT
trap 'exit 1' INT TERM

tx() { ip netns exec ${P}tx "$@"; }
rx() { ip netns exec ${P}rx "$@"; }

cleanup
ip netns add ${P}tx
ip netns add ${P}rx
# No IPv6 and no address on the watched end: nothing but the replayed
# frames crosses the link, so the counts can be compared exactly.
for ns in ${P}tx ${P}rx; do
	ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add ${P}a netns ${P}tx mtu 9000 type veth peer name ${P}b netns ${P}rx mtu 9000
tx ip link set ${P}a up
rx ip link set ${P}b up

# watch ENGINE REPORT: start wirecheck watch on the receiving end, bounded
# by its own --duration. It is started directly (ip netns exec replaces
# itself with it), so that $! is its process: a background subshell would
# ignore the signal that ends it.
watch() {
	ip netns exec ${P}rx "$WC" watch -i ${P}b --engine "$1" --max-flows 262144 -p bench/profile.yaml \
		--host 10.0.0.5 --interval 1h --duration 600s --format json -o "$2" 2>"$2.log" &
	WATCH=$!
}
# stop: end watch (SIGTERM writes the report) and wait for it.
stop() {
	kill -TERM "$WATCH"
	wait "$WATCH" || true
	WATCH=
}
# drops: packets the veth pair dropped below the capture hooks (the
# receiver's backlog was full), as the kernel counts them.
drops() {
	a=$(tx ip -s -j link show dev ${P}a | jq '.[0].stats64.tx.dropped')
	b=$(rx ip -s -j link show dev ${P}b | jq '.[0].stats64.rx.dropped')
	echo $((a + b))
}
# attached: wait up to 10 s for watch to say it is watching, which it does
# once its engine runs (the eBPF program attached).
attached() {
	for _ in $(seq 50); do
		grep -q "watching ${P}b" "$1.log" 2>/dev/null && return 0
		sleep 0.2
	done
	echo "live: watch did not start; it said:" >&2
	cat "$1.log" >&2
	exit 1
}

echo
echo "== live: tcpreplay --topspeed into a veth, $(basename "$CAP") =="
for engine in ebpf pcap; do
	rep=$OUT/live-$engine.json
	watch $engine "$rep"
	attached "$rep"
	d0=$(drops)
	tx timeout 300 tcpreplay --topspeed -i ${P}a "$CAP" >"$OUT/live-tcpreplay-$engine.txt" 2>&1
	sleep 1
	stop
	dropped=$(($(drops) - d0))
	sent=$(sed -n 's/.*Actual: \([0-9]*\) packets (\([0-9]*\) bytes) sent.*/\1 \2/p' "$OUT/live-tcpreplay-$engine.txt")
	rate=$(sed -n 's/.*Rated: [0-9.]* Bps, [0-9.]* Mbps, \([0-9.]*\) pps.*/\1/p' "$OUT/live-tcpreplay-$engine.txt")
	failed=$(sed -n 's/.*Failed packets: *\([0-9]*\).*/\1/p' "$OUT/live-tcpreplay-$engine.txt")
	set -- $sent
	spk=$1 sby=$2
	cpk=$(jq .summary.packets "$rep")
	cby=$(jq .summary.bytes "$rep")
	lost=$(jq '[.losses[]? | select(.degraded != true) | .count] | add // 0' "$rep")
	printf '%-5s sent %s packets %s bytes (%s pps, %s failed, %s dropped by the veth before any hook); counted %s packets %s bytes; reported lost %s\n' \
		$engine "$spk" "$sby" "${rate:-?}" "${failed:-?}" "$dropped" "$cpk" "$cby" "$lost"
	if [ $engine = ebpf ]; then
		if [ "$cpk" = "$spk" ] && [ "$cby" = "$sby" ]; then
			echo "      eBPF counts equal what was sent: holds"
		elif [ "$dropped" -gt 0 ] && [ $((cpk + dropped)) = "$spk" ]; then
			echo "      eBPF counts equal what reached the interface; the veth dropped $dropped before it (machine overloaded): DOES NOT HOLD at this load"
		else
			echo "      eBPF counts equal what was sent: DOES NOT HOLD"
		fi
	else
		jq -r '.losses[]? | "      reported: \(.count) \(.what)"' "$rep"
		if [ $((cpk + lost + dropped)) -ge "$spk" ]; then
			echo "      pcap: counted + reported drops account for every packet sent: holds"
		else
			echo "      pcap: $((spk - cpk - lost)) packets neither counted nor reported: DOES NOT HOLD"
		fi
	fi
done

echo
echo "== live: iperf3 TCP across the veth, ${IPERF_SECONDS}s x $ROUNDS rounds, without and with the eBPF program =="
tx ip addr add 10.255.5.1/24 dev ${P}a
rx ip addr add 10.255.5.2/24 dev ${P}b
ip netns exec ${P}rx timeout 600 iperf3 -s -p 5201 >/dev/null 2>&1 &
IPERF=$!
sleep 1
STATS0=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1
iperf() {
	tx timeout $((IPERF_SECONDS + 20)) iperf3 -c 10.255.5.2 -p 5201 -t "$IPERF_SECONDS" -f m |
		awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i+1) == "Mbits/sec") print $i }'
}
without="" with="" costs=""
for r in $(seq "$ROUNDS"); do
	without="$without $(iperf)"
	watch ebpf "$OUT/live-iperf.json"
	attached "$OUT/live-iperf.json"
	with="$with $(iperf)"
	# The run count and time of watch's programs (the ids of the BPF
	# programs whose file descriptors it holds).
	ids=$(grep -h '^prog_id:' /proc/"$WATCH"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u)
	cnt=0 ns=0
	for id in $ids; do
		set -- $(bpftool -j prog show id "$id" | jq -r '"\(.run_cnt // 0) \(.run_time_ns // 0)"')
		cnt=$((cnt + $1)) ns=$((ns + $2))
	done
	stop
	[ "$cnt" -gt 0 ] && costs="$costs $((ns / cnt))"
	echo "round $r: without $(echo $without | awk '{print $NF}') Mbit/s, with $(echo $with | awk '{print $NF}') Mbit/s, program $((ns / (cnt > 0 ? cnt : 1))) ns/packet over $cnt packets"
done
med() { echo "$@" | tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mw=$(med $without)
mb=$(med $with)
mc=$(med $costs)
loss=$(awk -v a="$mw" -v b="$mb" 'BEGIN { printf "%.1f", (a - b) / a * 100 }')
echo "median: without $mw Mbit/s, with $mb Mbit/s: loss $loss%; eBPF program $mc ns/packet (BPF statistics)"
if awk -v l="$loss" 'BEGIN { exit !(l < 5) }'; then
	echo "throughput loss under 5%: holds"
else
	echo "throughput loss under 5%: DOES NOT HOLD"
fi
