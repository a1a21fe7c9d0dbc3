#!/bin/bash
# bench/esp/esp-bench.sh: the `./bench/run esp` benchmark. iperf3 TCP through an
# IPsec tunnel between two network namespaces, next to the bare veth under it, in
# one run. Prints "METRIC VALUE UNIT" lines; lines starting with '#' are detail.
#
# Today it measures strongSwan's kernel-libipsec (userspace ESP in UDP 4500, as the
# interop harness tests/interop/lib.sh sets it up): two charons, IKEv2 PSK,
# aes256gcm16-prfsha256-curve25519 / aes256gcm16. vpnd's kernel-tun side is added
# here, measured the same way, once vpnd carries a tunnel.
#
# Per path: ESP_BENCH_RUNS runs (5) of ESP_BENCH_SECONDS (10) each; the figures are
# medians over the runs: throughput as the receiver counted it, TCP retransmits per
# run (iperf3 --json), and CPU seconds per GB carried: user + system time of both
# charons (/proc/PID/stat, before and after each run) over the bytes received.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/interop/lib.sh
. "$top/tests/interop/lib.sh"

runs=${ESP_BENCH_RUNS:-5}
seconds=${ESP_BENCH_SECONDS:-10}

interop_require iperf3 python3
interop_init
A=vpnd-ba-$$ B=vpnd-bb-$$
interop_netns_pair "$A" "$B"
interop_site_conf "$A" "$B" >"$INTEROP_DIR/a.conf"
interop_site_conf "$B" "$A" >"$INTEROP_DIR/b.conf"
interop_charon_start "$B" "$INTEROP_DIR/b.conf"
interop_charon_start "$A" "$INTEROP_DIR/a.conf"
interop_swanctl "$A" --initiate --child tun --timeout 20 >"$INTEROP_DIR/initiate.out" 2>&1 ||
	{ cat "$INTEROP_DIR/initiate.out" >&2; interop_fail "swanctl --initiate"; }
interop_wait_sa "$A" tun 10
interop_wait_sa "$B" tun 10
interop_ping "$A" 10.2.0.1 2 >/dev/null || interop_fail "no ping through the tunnel"
pid_a=$(interop_charon_pid "$A") pid_b=$(interop_charon_pid "$B")

# one iperf3 server in B for all runs (it listens on all of B's addresses)
ip netns exec "$B" iperf3 -s >"$INTEROP_DIR/iperf3-server.log" 2>&1 </dev/null &
srv=$!
interop_track_pid "$srv"
for _ in $(seq 1 50); do
	ip netns exec "$B" ss -Htln 'sport = :5201' | grep -q LISTEN && break
	sleep 0.1
done
ip netns exec "$B" ss -Htln 'sport = :5201' | grep -q LISTEN || interop_fail "iperf3 server did not start"

hz=$(getconf CLK_TCK)
# user + system CPU ticks of both charons
charon_ticks() {
	local pid stat total=0
	for pid in "$pid_a" "$pid_b"; do
		stat=$(cat "/proc/$pid/stat") || interop_fail "charon $pid is gone"
		stat=${stat##*) }
		# after the comm field: state is field 1, utime 12, stime 13
		# shellcheck disable=SC2086 # split on purpose into the stat fields
		set -- $stat
		total=$((total + ${12} + ${13}))
	done
	echo "$total"
}

# measure PATH SRC DST: prints one line per run: "mbps retransmits cpu_s bytes"
measure() {
	local path=$1 src=$2 dst=$3 run t0 t1 json
	for run in $(seq 1 "$runs"); do
		json=$INTEROP_DIR/$path-$run.json
		t0=$(charon_ticks)
		# bounded: iperf3 gives up on its own; timeout is the backstop
		timeout $((seconds + 30)) ip netns exec "$A" \
			iperf3 -c "$dst" -B "$src" -t "$seconds" -J >"$json" 2>&1 ||
			{ cat "$json" >&2; interop_fail "iperf3 $path run $run"; }
		t1=$(charon_ticks)
		python3 - "$json" "$((t1 - t0))" "$hz" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
end = d["end"]
recv = end["sum_received"]
print("%.1f %d %.3f %d" % (recv["bits_per_second"] / 1e6, end["sum_sent"].get("retransmits", 0),
                           int(sys.argv[2]) / int(sys.argv[3]), recv["bytes"]))
PY
	done
}

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

esp=$(measure esp 10.1.0.1 10.2.0.1)
veth=$(measure veth 192.0.2.1 192.0.2.2)

echo "# $runs runs of $seconds s each, iperf3 $(iperf3 --version | awk 'NR == 1 { print $2 }') TCP, one stream, $A -> $B"
echo "# esp_libipsec per run: Mbit/s retransmits charon_cpu_s bytes"
awk '{ print "#   " $0 }' <<<"$esp"
echo "# veth per run: Mbit/s retransmits charon_cpu_s bytes"
awk '{ print "#   " $0 }' <<<"$veth"
printf 'esp_libipsec_mbps %.0f Mbit/s\n' "$(awk '{ print $1 }' <<<"$esp" | median)"
printf 'esp_libipsec_cpu_s_per_gb %.2f s/GB\n' \
	"$(awk '$4 > 0 { print $3 / ($4 / 1e9) }' <<<"$esp" | median)"
# both charons together, in % of one core
printf 'esp_libipsec_charons_cpu %.0f %%\n' \
	"$(awk -v s="$seconds" '{ print 100 * $3 / s }' <<<"$esp" | median)"
printf 'esp_libipsec_tcp_retransmits %.0f per-run\n' "$(awk '{ print $2 }' <<<"$esp" | median)"
printf 'veth_mbps %.0f Mbit/s\n' "$(awk '{ print $1 }' <<<"$veth" | median)"
printf 'veth_tcp_retransmits %.0f per-run\n' "$(awk '{ print $2 }' <<<"$veth" | median)"
echo "# esp_kernel_tun (vpnd): not measured yet: vpnd does not carry a tunnel yet (issue 5)"
