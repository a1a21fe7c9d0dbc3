# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shared by the shell tests that run vpnd in two network namespaces (sourced, not run):
# the TAP helpers, cleanup of what the test started, and a vpnd's start and clean stop.
#
#   NS1=vpnd-xx1-$$ NS2=vpnd-xx2-$$ TMP=$(mktemp -d …); . netns-lib.sh
#   netns_pair xx 10.1.0.1/32 10.2.0.1/32    veth xx1/xx2 with 192.0.2.1/.2, inner on lo
#   check "what" command…                    one TAP line; output shown on failure
#   start_vpnd NAME NS; wait_for FILE PATTERN SECONDS; stop_vpnd NAME
#
# Cleanup kills only the PIDs in PIDS and deletes only NS1 and NS2; it runs on exit.

PIDS=()
FAILED=0
N=0

netns_cleanup() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	ip netns del "$NS1" 2>/dev/null
	ip netns del "$NS2" 2>/dev/null
	rm -rf "$TMP"
}
trap netns_cleanup EXIT

in1() { ip netns exec "$NS1" "$@"; }
in2() { ip netns exec "$NS2" "$@"; }

check() { # description, command…
	local what=$1
	shift
	N=$((N + 1))
	if "$@" >"$TMP/check.log" 2>&1; then
		echo "ok $N - $what"
	else
		echo "not ok $N - $what"
		sed 's/^/#   /' "$TMP/check.log"
		FAILED=1
	fi
}

dump_logs() {
	for f in "$TMP"/*.log "$TMP"/*.out; do
		[ -s "$f" ] || continue
		echo "# --- $f"
		sed 's/^/#   /' "$f"
	done
}

die() {
	echo "Bail out! $*"
	dump_logs
	exit 1
}

# netns_pair PREFIX INNER1 INNER2: NS1 and NS2 joined by a veth (192.0.2.1/24 and .2)
netns_pair() {
	ip netns add "$NS1" && ip netns add "$NS2" || die "cannot create namespaces"
	ip link add "${1}1" netns "$NS1" type veth peer name "${1}2" netns "$NS2" || die "no veth"
	in1 ip addr add 192.0.2.1/24 dev "${1}1"
	in2 ip addr add 192.0.2.2/24 dev "${1}2"
	in1 ip addr add "$2" dev lo
	in2 ip addr add "$3" dev lo
	for ns in "$NS1" "$NS2"; do
		ip -n "$ns" link set lo up
	done
	in1 ip link set "${1}1" up
	in2 ip link set "${1}2" up
}

# start_vpnd NAME NS: vpnd --config $TMP/NAME/vpnd.conf in NS, log in $TMP/NAME.log
start_vpnd() {
	ip netns exec "$2" "$VPND" --config "$TMP/$1/vpnd.conf" >"$TMP/$1.log" 2>&1 &
	PIDS+=($!)
	eval "pid_$1=$!"
}

wait_for() { # FILE PATTERN SECONDS
	for _ in $(seq $(($3 * 10))); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# stop_vpnd NAME: SIGTERM, exit 0 within 5 s, no critical or sanitizer report in its log
stop_vpnd() {
	local pid rc
	eval "pid=\$pid_$1"
	kill -TERM "$pid"
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && { echo "vpnd $1 still running"; return 1; }
	wait "$pid"
	rc=$?
	echo "vpnd $1 exited with $rc"
	[ "$rc" = 0 ] && ! grep -Eq 'CRITICAL|Sanitizer|runtime error' "$TMP/$1.log"
}
