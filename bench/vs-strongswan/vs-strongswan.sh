#!/bin/bash
# vpnd next to strongSwan's charon, in one run on this machine (issue 8):
#  (a) IKE_SA + CHILD_SA establishments per second: a burst of BURST distinct
#      connections (start_action = start, so all in flight at once) from namespace A to
#      B, vpnd -> vpnd against charon -> charon, PSK, Curve25519 and ECP-256; the rate
#      is BURST over the initiator's log from the first "initiating" to the last child
#      up (ms timestamps); both daemons restarted per run; charon's DoS protection
#      off, vpnd's too (ike.half_open_per_peer = 0, ike.cookie_threshold = 0);
#  (a') the same burst with the responder under callgrind: its instructions per
#      establishment (Curve25519), the figure a shared machine does not move;
#  (b) RSS per established IKE SA (one child each) at MEM_SAS SAs: the responder's
#      VmRSS with its one connection loaded, then with MEM_SAS SAs up, difference over
#      MEM_SAS; and RSS per loaded connection (the initiator, MEM_SAS connections, none
#      started, against the responder's one);
#  (c) time from initiate to the child installed and to the first ping reply: the
#      same VICI initiate request (swanctl's) to both daemons, timed by a client
#      (vici-initiate.py) to its answer, which both send once the child is installed
#      (the first initiate of fresh daemons, idle for 0.2 s after start); then, after
#      a terminate, a second initiate to the first echo reply seen by a prober in A
#      that sends an ICMP echo every 0.5 ms. Next to them the floor of this machine:
#      the same six hops between processes that do nothing else (bench-wake-floor),
#      and each daemon's median above it; and the CPU time each daemon (initiator,
#      responder; all threads, schedstat) had from the first initiate to its answer.
#  Also per establishment the responder's CPU time (all threads, schedstat): steadier
#  than the rate on a shared machine, where a busy neighbour slows both sides.
# Medians of RUNS runs each, vpnd's and charon's runs alternating; METRIC VALUE UNIT
# lines, ratios are vpnd / charon.
# Environment: VS_PARTS (rate instr mem ping), VS_IMPLS (vpnd charon), VS_RUNS, VS_BURST,
# VS_MEM_SAS, VS_MEM_RUNS, VS_PING_RUNS; VS_PERF=DIR keeps a perf profile of each
# rate run's responder there; VS_CALLGRIND=DIR the instr part's callgrind files;
# VS_LOGS=DIR both daemons' logs of every run.
# Usage: vs-strongswan.sh VPND PLUGIN_DIR. Needs root and scripts/install-deps.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/interop/lib.sh
. "$here/../../tests/interop/lib.sh"

export INTEROP_VPND=${1:?usage: $0 VPND PLUGIN_DIR} INTEROP_VPND_PLUGINS=${2:?usage: $0 VPND PLUGIN_DIR}
# vpnd loads what a packaged daemon would of these: crypto-sodium (Curve25519) when built
if [ -e "$INTEROP_VPND_PLUGINS/crypto-sodium.so" ]; then
	export INTEROP_VPND_LOAD=${INTEROP_VPND_LOAD:-crypto-gnutls crypto-sodium kernel-tun auth-psk}
fi
RUNS=${VS_RUNS:-5}
BURST=${VS_BURST:-64}
MEM_SAS=${VS_MEM_SAS:-1000}
MEM_RUNS=${VS_MEM_RUNS:-3}
PING_RUNS=${VS_PING_RUNS:-21}
PARTS=${VS_PARTS:-rate instr mem ping}
IMPLS=${VS_IMPLS:-vpnd charon}
# both log the lines measured and little more: charon at level 0, vpnd at message
export INTEROP_LOGLEVEL=${INTEROP_LOGLEVEL:-0} INTEROP_VPND_LOGLEVEL=${INTEROP_VPND_LOGLEVEL:-message}

interop_require python3
interop_init
A=vpnd-va-$$ B=vpnd-vb-$$
interop_netns_pair "$A" "$B"
# each child's inner addresses exist in the namespaces: charon (libipsec) routes each
# child from its local address and refuses a child whose address is not there
max=$((BURST > MEM_SAS ? BURST : MEM_SAS))
for i in $(seq 1 "$max"); do echo "addr add 10.1.$((i / 250)).$((i % 250 + 1))/32 dev inner0"; done |
	ip -n "$A" -batch - || interop_fail "cannot add the inner addresses in $A"
for i in $(seq 1 "$max"); do echo "addr add 10.2.$((i / 250)).$((i % 250 + 1))/32 dev inner0"; done |
	ip -n "$B" -batch - || interop_fail "cannot add the inner addresses in $B"

# ---- configurations ----

# init_conf COUNT GROUP START: COUNT connections c1… from A to B, each with its own
# identity cI.vpnd.test (else charon puts all children on one IKE SA: same peer
# config) and one child 10.1.x.y/32 === 10.2.x.y/32, start_action START
init_conf() {
	local i
	echo "connections {"
	for i in $(seq 1 "$1"); do
		local x=$((i / 250)) y=$((i % 250 + 1))
		cat <<EOF
	c$i {
		local_addrs = 192.0.2.1
		remote_addrs = 192.0.2.2
		proposals = aes256gcm16-prfsha256-$2
		local {
			auth = psk
			id = c$i.vpnd.test
		}
		remote {
			auth = psk
			id = b.vpnd.test
		}
		children {
			c$i {
				local_ts = 10.1.$x.$y/32
				remote_ts = 10.2.$x.$y/32
				esp_proposals = aes256gcm16
				start_action = $3
			}
		}
	}
EOF
	done
	echo "}"
	secrets
}

# resp_conf GROUP: B's one connection for all of A's (their selectors narrowed)
resp_conf() {
	cat <<EOF
connections {
	r {
		local_addrs = 192.0.2.2
		remote_addrs = 192.0.2.1
		proposals = aes256gcm16-prfsha256-$1
		local {
			auth = psk
			id = b.vpnd.test
		}
		remote {
			auth = psk
			id = %any
		}
		children {
			r {
				local_ts = 10.2.0.0/16
				remote_ts = 10.1.0.0/16
				esp_proposals = aes256gcm16
			}
		}
	}
}
EOF
	secrets
}

# one PSK for B and whoever talks to it (strongSwan and vpnd both take a secret that
# names one side for any peer of it)
secrets() {
	cat <<EOF
secrets {
	ike-b {
		id = b.vpnd.test
		secret = "$INTEROP_PSK"
	}
}
EOF
}

# the same retransmission start on both sides: a lost datagram costs 1 s, not 4
vpnd_settings='ike {
	half_open_per_peer = 0
	cookie_threshold = 0
	retransmit_timeout = 1
}'
export INTEROP_CHARON_SETTINGS='retransmit_timeout = 1'

# ---- starting and stopping one pair ----

# start IMPL NS CONF
start() {
	if [ "$1" = vpnd ]; then
		interop_vpnd_start "$2" "$3" "$vpnd_settings"
	else
		rm -f "$INTEROP_DIR/$2/charon.log" # charon appends; the stamps are per run
		interop_charon_start "$2" "$3"
	fi
}

stop_all() {
	local ns
	for ns in "$A" "$B"; do
		interop_vpnd_stop "$ns"
		interop_charon_stop "$ns"
	done
}

logfile() { # IMPL NS
	echo "$INTEROP_DIR/$2/$1.log"
}

pid_of() { # IMPL NS
	if [ "$1" = vpnd ]; then interop_vpnd_pid "$2"; else interop_charon_pid "$2"; fi
}

rss_kb() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"; }

# cpu_ns PID: CPU time of all its threads so far (schedstat: ns on the CPU)
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ t += $1 } END { printf "%d\n", t }'; }

# count_up IMPL NS: children up so far in that daemon's log
count_up() {
	if [ "$1" = vpnd ]; then
		grep -c ': CHILD SA .* up, SPIs' "$(logfile "$1" "$2")" || true
	else
		grep -c 'CHILD_SA .* established with SPIs' "$(logfile "$1" "$2")" || true
	fi
}

# wait_up IMPL NS COUNT SECONDS
wait_up() {
	local _
	for _ in $(seq 1 $(($4 * 20))); do
		[ "$(count_up "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.05
	done
	interop_fail "$1 in $2: $(count_up "$1" "$2") of $3 children up after $4 s"
}

# stamps IMPL NS: "first-initiating last-child-up" in seconds since midnight
stamps() {
	local init up
	if [ "$1" = vpnd ]; then
		init=': initiating IKE SA' up=': CHILD SA .* up, SPIs'
	else
		init='initiating IKE_SA' up='CHILD_SA .* established with SPIs'
	fi
	awk -v i="$init" -v u="$up" '
		function t(s,  p) { split(s, p, ":"); return p[1] * 3600 + p[2] * 60 + p[3] }
		$0 ~ i && first == "" { first = t($1) }
		$0 ~ u { last = t($1) }
		END { printf "%.3f %.3f\n", first, last }' "$(logfile "$1" "$2")"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

ratio() { # METRIC VPND CHARON
	[ -n "$2" ] && [ -n "$3" ] && awk -v m="$1" -v v="$2" -v c="$3" \
		'BEGIN { if (c > 0) printf "%s %.2f vpnd/charon\n", m, v / c }'
	return 0
}

# measure RUN RUNS METRIC1 UNIT1 METRIC2 UNIT2: "RUN IMPL" prints two figures; prints
# their medians over RUNS runs per daemon, then the ratios vpnd/charon
measure() {
	local run=$1 runs=$2 impl _
	local -A one two
	# the daemons take turns, run by run: a neighbour's load that comes and goes hits both
	for impl in $IMPLS; do : >"$INTEROP_DIR/$run-$impl"; done
	for _ in $(seq 1 "$runs"); do
		for impl in $IMPLS; do "$run" "$impl" >>"$INTEROP_DIR/$run-$impl"; done
	done
	for impl in $IMPLS; do
		one[$impl]=$(awk '{ print $1 }' "$INTEROP_DIR/$run-$impl" | median)
		two[$impl]=$(awk '{ print $2 }' "$INTEROP_DIR/$run-$impl" | median)
		# the spread, for a reader: these machines are shared
		echo "# ${3}_$impl runs: $(awk '{ printf "%s ", $1 }' "$INTEROP_DIR/$run-$impl")"
		echo "# ${5}_$impl runs: $(awk '{ printf "%s ", $2 }' "$INTEROP_DIR/$run-$impl")"
		echo "${3}_$impl ${one[$impl]} $4"
		echo "${5}_$impl ${two[$impl]} $6"
	done
	ratio "${3}_ratio" "${one[vpnd]:-}" "${one[charon]:-}"
	ratio "${5}_ratio" "${two[vpnd]:-}" "${two[charon]:-}"
}

# ---- (a) establishments per second ----

# rate_run IMPL GROUP: "establishments/s responder-CPU-µs-per-establishment"
rate_run() {
	local first last cpu0 cpu1 pid
	init_conf "$BURST" "$2" start >"$INTEROP_DIR/init.conf"
	resp_conf "$2" >"$INTEROP_DIR/resp.conf"
	start "$1" "$B" "$INTEROP_DIR/resp.conf"
	pid=$(pid_of "$1" "$B")
	# VS_PERF=DIR: a perf profile of the responder per run, for finding bottlenecks
	if [ -n "${VS_PERF:-}" ]; then
		perf record -q -F 20000 -g -o "$VS_PERF/$1-$2-$pid.data" -p "$pid" 2>/dev/null &
		perf_pid=$!
		sleep 0.2
	fi
	cpu0=$(cpu_ns "$pid")
	start "$1" "$A" "$INTEROP_DIR/init.conf"
	wait_up "$1" "$A" "$BURST" 60
	wait_up "$1" "$B" "$BURST" 10
	cpu1=$(cpu_ns "$pid")
	if [ -n "${VS_PERF:-}" ]; then
		kill -INT "$perf_pid"
		wait "$perf_pid" || true
	fi
	read -r first last < <(stamps "$1" "$A")
	keep_logs "$1" "rate-$2"
	stop_all
	awk -v n="$BURST" -v a="$first" -v b="$last" -v c="$((cpu1 - cpu0))" \
		'BEGIN { printf "%.1f %.1f\n", n / (b - a > 0.001 ? b - a : 0.001), c / n / 1000 }'
}

# keep_logs IMPL TAG: VS_LOGS=DIR keeps both daemons' logs of each run there
keep_logs() {
	[ -n "${VS_LOGS:-}" ] || return 0
	local n
	n=$(find "$VS_LOGS" -name '*.initiator.log' | wc -l)
	cp "$(logfile "$1" "$A")" "$VS_LOGS/$1-$2-$n.initiator.log"
	cp "$(logfile "$1" "$B")" "$VS_LOGS/$1-$2-$n.responder.log"
}

part() { [[ " $PARTS " == *" $1 "* ]]; }

rate_curve25519() { rate_run "$1" curve25519; }
rate_ecp256() { rate_run "$1" ecp256; }
for group in curve25519 ecp256; do
	part rate && measure "rate_$group" "$RUNS" "vs_handshake_rate_$group" /s \
		"vs_responder_cpu_per_handshake_$group" us
done

# ---- (a') instructions per establishment: steady on a shared machine ----

# instr_run IMPL: the responder's instructions per establishment (callgrind, counted
# from the first initiation to the last child up; the burst as in (a), Curve25519)
instr_run() {
	local pid out wrap="valgrind --tool=callgrind --instr-atstart=no"
	init_conf "$BURST" curve25519 start >"$INTEROP_DIR/init.conf"
	resp_conf curve25519 >"$INTEROP_DIR/resp.conf"
	wrap="$wrap --callgrind-out-file=$INTEROP_DIR/callgrind.%p"
	# slowed down ~50 times: no retransmission may count twice
	if [ "$1" = vpnd ]; then
		INTEROP_VPND_WRAP=$wrap vpnd_settings=${vpnd_settings/retransmit_timeout = 1/retransmit_timeout = 60} \
			start vpnd "$B" "$INTEROP_DIR/resp.conf"
	else
		INTEROP_CHARON_WRAP=$wrap INTEROP_CHARON_SETTINGS='retransmit_timeout = 60' \
			start charon "$B" "$INTEROP_DIR/resp.conf"
	fi
	pid=$(pid_of "$1" "$B")
	callgrind_control -i on "$pid" >/dev/null 2>&1 || interop_fail "callgrind_control on $pid"
	INTEROP_CHARON_SETTINGS='retransmit_timeout = 60' \
		vpnd_settings=${vpnd_settings/retransmit_timeout = 1/retransmit_timeout = 60} \
		start "$1" "$A" "$INTEROP_DIR/init.conf"
	wait_up "$1" "$A" "$BURST" 120
	wait_up "$1" "$B" "$BURST" 10
	callgrind_control -i off "$pid" >/dev/null 2>&1
	stop_all
	out=$(awk '$1 == "totals:" || $1 == "summary:" { t += $2 } END { printf "%d", t }' \
		"$INTEROP_DIR"/callgrind.*)
	if [ -n "${VS_CALLGRIND:-}" ]; then
		mkdir -p "$VS_CALLGRIND"
		for f in "$INTEROP_DIR"/callgrind.*; do cp "$f" "$VS_CALLGRIND/$1-${f##*.}.callgrind"; done
	fi
	rm -f "$INTEROP_DIR"/callgrind.*
	awk -v t="$out" -v n="$BURST" 'BEGIN { printf "%.0f\n", t / n }'
}

instr_measure() {
	local impl
	local -A v
	for impl in $IMPLS; do
		v[$impl]=$(instr_run "$impl")
		echo "vs_responder_instructions_per_handshake_curve25519_$impl ${v[$impl]} instructions"
	done
	ratio vs_responder_instructions_per_handshake_curve25519_ratio "${v[vpnd]:-}" "${v[charon]:-}"
}

part instr && instr_measure

# ---- (b) memory ----

mem_run() { # IMPL: "per-SA-bytes per-conn-bytes"
	local before after loaded
	init_conf "$MEM_SAS" curve25519 none >"$INTEROP_DIR/idle.conf"
	init_conf "$MEM_SAS" curve25519 start >"$INTEROP_DIR/init.conf"
	resp_conf curve25519 >"$INTEROP_DIR/resp.conf"
	start "$1" "$B" "$INTEROP_DIR/resp.conf"
	sleep 0.3
	before=$(rss_kb "$(pid_of "$1" "$B")")
	# the initiator idle, its MEM_SAS connections loaded: per loaded connection
	start "$1" "$A" "$INTEROP_DIR/idle.conf"
	sleep 0.3
	loaded=$(rss_kb "$(pid_of "$1" "$A")")
	if [ "$1" = vpnd ]; then interop_vpnd_stop "$A"; else interop_charon_stop "$A"; fi
	start "$1" "$A" "$INTEROP_DIR/init.conf"
	wait_up "$1" "$B" "$MEM_SAS" 120
	sleep 0.5
	after=$(rss_kb "$(pid_of "$1" "$B")")
	stop_all
	echo "$(((after - before) * 1024 / MEM_SAS)) $(((loaded - before) * 1024 / (MEM_SAS - 1)))"
}

part mem && measure mem_run "$MEM_RUNS" vs_rss_per_ike_sa bytes vs_rss_per_loaded_conn bytes

# ---- (c) initiate -> installed -> first ping reply ----

# prober: ICMP echo 10.1.0.1 -> 10.2.0.1 every 0.5 ms (sends fail until a route
# exists); prints the time of the first reply (seconds since the epoch)
start_prober() {
	ip netns exec "$A" python3 - "$INTEROP_DIR/prober" <<'PY' &
import os, select, socket, struct, sys, time
out = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.bind(("10.1.0.1", 0))
ident = os.getpid() & 0xFFFF
def echo(seq):
    hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"vs-strongswan." # even length
    c = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    c = (c >> 16) + (c & 0xFFFF)
    c = ~(c + (c >> 16)) & 0xFFFF
    return hdr[:2] + struct.pack("!H", c) + hdr[4:]
open(out + ".ready", "w").close()
deadline, seq = time.time() + 10, 0
while time.time() < deadline:
    seq = (seq + 1) & 0xFFFF
    try:
        s.sendto(echo(seq), ("10.2.0.1", 0))
    except OSError:
        pass
    while select.select([s], [], [], 0.0005)[0]:
        data = s.recv(2048)
        icmp = data[(data[0] & 15) * 4:]
        if icmp[0] == 0 and struct.unpack("!H", icmp[4:6])[0] == ident:
            with open(out, "w") as f:
                f.write("%.6f\n" % time.time())
            sys.exit(0)
sys.exit(1)
PY
	prober=$!
	interop_track_pid "$prober"
	local _
	for _ in $(seq 1 100); do
		[ -e "$INTEROP_DIR/prober.ready" ] && return 0
		sleep 0.02
	done
	interop_fail "the prober did not start"
}

# ping_run IMPL: "initiate->installed-ms initiate->reply-ms initiator-CPU-us
# responder-CPU-us" from two initiates of fresh daemons: the first alone (nothing else
# on the CPUs; the daemons' CPU time is of that one), the second, after a terminate,
# with the prober running
ping_run() {
	local reply sent installed sock cpu_i cpu_r
	rm -f "$INTEROP_DIR/prober" "$INTEROP_DIR/prober.ready"
	interop_site_conf "$B" "$A" >"$INTEROP_DIR/resp.conf"
	interop_site_conf "$A" "$B" >"$INTEROP_DIR/init.conf"
	start "$1" "$B" "$INTEROP_DIR/resp.conf"
	start "$1" "$A" "$INTEROP_DIR/init.conf"
	if [ "$1" = vpnd ]; then sock=$INTEROP_DIR/$A/vpnd.vici; else sock=$INTEROP_DIR/$A/charon.vici; fi
	sleep 0.2 # both idle, their start-up work done, as a running daemon is
	read -r sent installed cpu_i cpu_r < <("$here/vici-initiate.py" "$sock" tun \
		"$(pid_of "$1" "$A")" "$(pid_of "$1" "$B")") ||
		interop_fail "$1: the VICI initiate failed"
	printf 'swanctl {\n\tload = pem\n}\n' >"$INTEROP_DIR/swanctl-only.conf"
	STRONGSWAN_CONF=$INTEROP_DIR/swanctl-only.conf "$INTEROP_SWANCTL" --terminate --ike tun \
		--uri "unix://$sock" >/dev/null || interop_fail "$1: the terminate failed"
	start_prober
	read -r sent _ < <("$here/vici-initiate.py" "$sock" tun) ||
		interop_fail "$1: the second VICI initiate failed"
	wait "$prober" || interop_fail "$1: no ping reply within 10 s"
	reply=$(cat "$INTEROP_DIR/prober")
	keep_logs "$1" ping
	stop_all
	floor_run >>"$INTEROP_DIR/floor" # interleaved with the daemons' runs: the same machine
	awk -v s="$sent" -v i="$installed" -v r="$reply" -v ci="$cpu_i" -v cr="$cpu_r" \
		'BEGIN { printf "%.2f %.2f %d %d\n", i, (r - s) * 1000, ci, cr }'
}

# floor_run: the machine's wake-up floor under (c) (bench-wake-floor): the same six hops
# between fresh processes that do nothing else, in ms
floor_run() {
	local b a port=5599 _
	rm -f "$INTEROP_DIR/floor.ready" "$INTEROP_DIR/floor.sock"
	ip netns exec "$B" "$FLOOR" responder "${INTEROP_ADDR[$B]}" "$port" \
		"$INTEROP_DIR/floor.ready" &
	b=$!
	interop_track_pid "$b"
	for _ in $(seq 1 100); do [ -e "$INTEROP_DIR/floor.ready" ] && break; sleep 0.02; done
	ip netns exec "$A" "$FLOOR" initiator "$INTEROP_DIR/floor.sock" \
		"${INTEROP_ADDR[$B]}" "$port" &
	a=$!
	interop_track_pid "$a"
	for _ in $(seq 1 100); do [ -S "$INTEROP_DIR/floor.sock" ] && break; sleep 0.02; done
	sleep 0.2 # idle, as the daemons are before their first initiate
	"$FLOOR" client "$INTEROP_DIR/floor.sock" || interop_fail "wake-floor failed"
	wait "$a" "$b" || interop_fail "wake-floor: a relay failed"
}

# built next to vpnd by bench/run
FLOOR=$(dirname "$INTEROP_VPND")/../bench/bench-wake-floor
if part ping; then
	[ -x "$FLOOR" ] || interop_fail "$FLOOR missing: meson compile bench-wake-floor"
	: >"$INTEROP_DIR/floor"
	measure ping_run "$PING_RUNS" vs_initiate_to_installed ms vs_initiate_to_ping_reply ms
	floor=$(median <"$INTEROP_DIR/floor")
	echo "# vs_six_hop_floor runs: $(tr '\n' ' ' <"$INTEROP_DIR/floor")"
	echo "vs_six_hop_floor $floor ms"
	# the daemons' own share: their median over the floor's, same run
	for impl in $IMPLS; do
		awk '{ print $1 }' "$INTEROP_DIR/ping_run-$impl" | median |
			awk -v f="$floor" -v i="$impl" '{ printf "vs_initiate_to_installed_above_floor_%s %.2f ms\n", i, $1 - f }'
	done
	# what each daemon spent on the CPU from the initiate to its answer: the part of
	# the latency that is the daemons' own, less noisy than the time
	declare -A cpu
	for side in initiator:3 responder:4; do
		for impl in $IMPLS; do
			echo "# vs_initiate_cpu_${side%:*}_$impl runs: $(awk -v c="${side#*:}" '{ printf "%s ", $c }' "$INTEROP_DIR/ping_run-$impl")"
			cpu[$impl]=$(awk -v c="${side#*:}" '{ print $c }' "$INTEROP_DIR/ping_run-$impl" | median)
			echo "vs_initiate_cpu_${side%:*}_$impl ${cpu[$impl]} us"
		done
		ratio "vs_initiate_cpu_${side%:*}_ratio" "${cpu[vpnd]:-}" "${cpu[charon]:-}"
	done
fi
