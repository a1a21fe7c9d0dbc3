#!/bin/bash
# bench/esp/esp-bench.sh: the `./bench/run esp` benchmark. iperf3 TCP through an
# IPsec tunnel between two network namespaces, next to the bare veth under it, in
# one run. Prints "METRIC VALUE UNIT" lines; lines starting with '#' are detail.
#
# Usage: esp-bench.sh VPND PLUGIN_DIR (bench/run builds both in build-bench/).
# First strongSwan's kernel-libipsec (userspace ESP in UDP 4500, as the interop
# harness tests/interop/lib.sh sets it up): two charons, IKEv2 PSK,
# aes256gcm16-prfsha256-curve25519 / aes256gcm16; then, in the same namespaces once
# the charons are stopped, two vpnd with kernel-tun (ESP in UDP 4500 too) and the
# same proposals, as tests/integration/test-tunnel.sh configures them.
#
# Per path: ESP_BENCH_RUNS runs (5) of ESP_BENCH_SECONDS (10) each; the figures are
# medians over the runs: throughput as the receiver counted it, TCP retransmits per
# run (iperf3 --json), and CPU seconds per GB carried: user + system time of both
# charons, or of both vpnd (/proc/PID/stat, before and after each run) over the
# bytes received.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/interop/lib.sh
. "$top/tests/interop/lib.sh"

vpnd=${1:?usage: $0 VPND PLUGIN_DIR} plugins=${2:?usage: $0 VPND PLUGIN_DIR}
runs=${ESP_BENCH_RUNS:-5}
seconds=${ESP_BENCH_SECONDS:-10}

interop_require iperf3 python3
interop_init
A=vpnd-ba-$$ B=vpnd-bb-$$
interop_netns_pair "$A" "$B"
start_charons() {
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
}

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
# user + system CPU ticks of both peers (pid_a, pid_b: the charons, then the vpnd)
charon_ticks() {
	local pid stat total=0
	for pid in "$pid_a" "$pid_b"; do
		stat=$(cat "/proc/$pid/stat") || interop_fail "peer $pid is gone"
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

drops_line() {
	paste <(tr ' ' '\n' <<<"$drops0") <(tr ' ' '\n' <<<"$drops1") |
		awk '{ d[NR] = $2 - $1 } END {
			printf "# vpnd packets lost, all runs: %s tun-tx %d tun-rx %d udp-rcvbuf %d; %s tun-tx %d tun-rx %d udp-rcvbuf %d\n",
				"A", d[1], d[2], d[3] + d[4], "B", d[5], d[6], d[7] + d[8] }'
}

# ESP_BENCH_VPND_ONLY=1: vpnd alone, for quick turns while working on the data plane
# (no ratio then: the figures that count come from a full run)
vpnd_only=${ESP_BENCH_VPND_ONLY:-}
if [ -z "$vpnd_only" ]; then
	start_charons
	esp=$(measure esp 10.1.0.1 10.2.0.1)
	veth=$(measure veth 192.0.2.1 192.0.2.2)
fi

# vpnd_start NS LOCAL REMOTE LOCAL_TS REMOTE_TS START_ACTION: a vpnd in NS configured
# as in tests/integration/test-tunnel.sh; its pid in vpnd_pid
vpnd_start() {
	local dir=$INTEROP_DIR/$1/vpnd
	mkdir -p "$dir/conf.d"
	printf 'plugins {\n\tdir = %s\n\tload = crypto-gnutls kernel-tun\n}\nvici {\n\tsocket = unix://%s/vici\n}\ndbus {\n\tenable = no\n}\nconf_dir = %s/conf.d\n' \
		"$plugins" "$dir" "$dir" >"$dir/vpnd.conf"
	cat >"$dir/conf.d/site.conf" <<CONF
connections {
	site {
		local_addrs = $2
		remote_addrs = $3
		proposals = aes256gcm16-prfsha256-curve25519
		local {
			auth = psk
			id = $1.example.org
		}
		remote {
			auth = psk
		}
		children {
			net {
				local_ts = $4
				remote_ts = $5
				esp_proposals = aes256gcm16
				start_action = $6
			}
		}
	}
}
secrets {
	ike-site {
		id-a = $A.example.org
		id-b = $B.example.org
		secret = "$INTEROP_PSK"
	}
}
CONF
	ip netns exec "$1" "$vpnd" --config "$dir/vpnd.conf" >"$dir.log" 2>&1 </dev/null &
	vpnd_pid=$!
	interop_track_pid "$vpnd_pid"
}
# wait_up NS: bounded wait for "CHILD SA net up" in NS's vpnd log
wait_up() {
	local _
	for _ in $(seq 1 200); do
		grep -q "CHILD SA net up" "$INTEROP_DIR/$1/vpnd.log" && return 0
		sleep 0.1
	done
	cat "$INTEROP_DIR/$1/vpnd.log" >&2
	interop_fail "vpnd in $1: no CHILD SA within 20 s"
}
if [ -z "$vpnd_only" ]; then
	interop_charon_stop "$A"
	interop_charon_stop "$B"
fi
vpnd_start "$B" 192.0.2.2 192.0.2.1 10.2.0.0/24 10.1.0.0/24 none
pid_b=$vpnd_pid
sleep 0.5
vpnd_start "$A" 192.0.2.1 192.0.2.2 10.1.0.0/24 10.2.0.0/24 start
pid_a=$vpnd_pid
wait_up "$A"
wait_up "$B"
interop_ping "$A" 10.2.0.1 2 >/dev/null || interop_fail "no ping through vpnd's tunnel"
# ESP_BENCH_PERF=DIR: perf samples of both vpnd over their runs (DIR/a.data, b.data)
perf_pids=()
if [ -n "${ESP_BENCH_PERF:-}" ]; then
	mkdir -p "$ESP_BENCH_PERF"
	for side in a b; do
		eval "pid=\$pid_$side"
		perf record -q -F 499 -g -p "$pid" -o "$ESP_BENCH_PERF/$side.data" 2>/dev/null &
		perf_pids+=($!)
		interop_track_pid "$!"
	done
fi
# where packets are lost on the vpnd path (TCP retransmits follow from these): the TUN
# devices' drops and the UDP receive buffers' overflows, summed over both namespaces
vpnd_drops() {
	local ns
	for ns in "$A" "$B"; do
		ip -n "$ns" -s link show vpnd0 | awk 'f { print $4; exit } /TX:/ { f = 1 }'
		ip -n "$ns" -s link show vpnd0 | awk 'f { print $4; exit } /RX:/ { f = 1 }'
		ip netns exec "$ns" awk '$1 == "Udp:" && $2 ~ /^[0-9]/ { print $6 }' /proc/net/snmp
		ip netns exec "$ns" awk '$1 == "Udp6RcvbufErrors" { print $2 }' /proc/net/snmp6
	done
}
drops0=$(vpnd_drops | paste -sd' ')
tun=$(measure tun 10.1.0.1 10.2.0.1)
drops1=$(vpnd_drops | paste -sd' ')
for pid in "${perf_pids[@]}"; do
	kill -INT "$pid"
	wait "$pid" || true
done

echo "# $runs runs of $seconds s each, iperf3 $(iperf3 --version | awk 'NR == 1 { print $2 }') TCP, one stream, $A -> $B"
if [ -n "$vpnd_only" ]; then
	echo "# esp_vpnd per run: Mbit/s retransmits vpnd_cpu_s bytes"
	awk '{ print "#   " $0 }' <<<"$tun"
	drops_line
	printf 'esp_vpnd_mbps %.0f Mbit/s\n' "$(awk '{ print $1 }' <<<"$tun" | median)"
	printf 'esp_vpnd_cpu_s_per_gb %.2f s/GB\n' \
		"$(awk '$4 > 0 { print $3 / ($4 / 1e9) }' <<<"$tun" | median)"
	printf 'esp_vpnd_tcp_retransmits %.0f per-run\n' "$(awk '{ print $2 }' <<<"$tun" | median)"
	exit 0
fi
echo "# esp_libipsec per run: Mbit/s retransmits charon_cpu_s bytes"
awk '{ print "#   " $0 }' <<<"$esp"
echo "# esp_vpnd per run: Mbit/s retransmits vpnd_cpu_s bytes"
awk '{ print "#   " $0 }' <<<"$tun"
drops_line
echo "# veth per run: Mbit/s retransmits charon_cpu_s bytes"
awk '{ print "#   " $0 }' <<<"$veth"
printf 'esp_libipsec_mbps %.0f Mbit/s\n' "$(awk '{ print $1 }' <<<"$esp" | median)"
printf 'esp_libipsec_cpu_s_per_gb %.2f s/GB\n' \
	"$(awk '$4 > 0 { print $3 / ($4 / 1e9) }' <<<"$esp" | median)"
# both charons together, in % of one core
printf 'esp_libipsec_charons_cpu %.0f %%\n' \
	"$(awk -v s="$seconds" '{ print 100 * $3 / s }' <<<"$esp" | median)"
printf 'esp_libipsec_tcp_retransmits %.0f per-run\n' "$(awk '{ print $2 }' <<<"$esp" | median)"
printf 'esp_vpnd_mbps %.0f Mbit/s\n' "$(awk '{ print $1 }' <<<"$tun" | median)"
printf 'esp_vpnd_cpu_s_per_gb %.2f s/GB\n' \
	"$(awk '$4 > 0 { print $3 / ($4 / 1e9) }' <<<"$tun" | median)"
printf 'esp_vpnd_tcp_retransmits %.0f per-run\n' "$(awk '{ print $2 }' <<<"$tun" | median)"
printf 'esp_vpnd_vs_libipsec %.2f x\n' "$(awk -v a="$(awk '{ print $1 }' <<<"$tun" | median)" \
	-v b="$(awk '{ print $1 }' <<<"$esp" | median)" 'BEGIN { print (b > 0 ? a / b : 0) }')"
printf 'veth_mbps %.0f Mbit/s\n' "$(awk '{ print $1 }' <<<"$veth" | median)"
printf 'veth_tcp_retransmits %.0f per-run\n' "$(awk '{ print $2 }' <<<"$veth" | median)"
