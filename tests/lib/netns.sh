# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# tests/lib/netns.sh: what the shell tests that build two network namespaces share
# (test-kernel-tun.sh, test-tunnel.sh, test-vici-tunnel.sh). Source it, then call netns_init TAG: it sets
# NS1 and NS2 (named with the PID), TMP (a scratch folder), PIDS (killed and reaped on
# exit), FAILED and N (the TAP state), and a trap that removes all of them on any exit.
# LOG_GLOBS (default "*.log") says which files in TMP dump_logs shows. With
# VPND_TEST_VERBOSE set, check() shows what each check printed, passed or not.

NETNS_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

netns_cleanup() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	ip netns del "$NS1" 2>/dev/null
	ip netns del "$NS2" 2>/dev/null
	# files a test put over the namespaces' /etc (ip netns exec binds them)
	rm -rf "/etc/netns/$NS1" "/etc/netns/$NS2"
	rm -rf "$TMP"
}

# netns_test_setup TAG: the prologue of a test with vpnd in namespaces: exit 77 unless
# root; VPND and PLUGINS from the build (VPND_BUILD_ROOT, VPND_PLUGIN_BUILDDIR); then
# netns_init TAG
netns_test_setup() {
	if [ "$(id -u)" != 0 ]; then
		echo "not root: skipped"
		exit 77
	fi
	BUILD=${VPND_BUILD_ROOT:?}
	VPND=$BUILD/daemon/vpnd
	PLUGINS=${VPND_PLUGIN_BUILDDIR:-$BUILD/plugins}
	netns_init "$1"
}

netns_init() { # TAG
	NS1=vpnd-${1}1-$$
	NS2=vpnd-${1}2-$$
	TMP=$(mktemp -d "/tmp/vpnd-$1.XXXXXX")
	PIDS=()
	FAILED=0
	N=0
	LOG_GLOBS=${LOG_GLOBS:-*.log}
	trap netns_cleanup EXIT
}

# netns_test_end: the logs when something failed (or VPND_TEST_VERBOSE is set), the TAP
# plan, and the exit status: the number of failed checks
netns_test_end() {
	[ "$FAILED" = 0 ] && [ -z "${VPND_TEST_VERBOSE:-}" ] || dump_logs
	echo "1..$N"
	exit "$FAILED"
}

in1() { ip netns exec "$NS1" "$@"; }
in2() { ip netns exec "$NS2" "$@"; }

check() { # description, command…
	local what=$1
	shift
	N=$((N + 1))
	if "$@" >"$TMP/check.log" 2>&1; then
		echo "ok $N - $what"
		# VPND_TEST_VERBOSE: what the check printed, also when it passed
		[ -z "${VPND_TEST_VERBOSE:-}" ] || sed 's/^/#   /' "$TMP/check.log"
	else
		echo "not ok $N - $what"
		sed 's/^/#   /' "$TMP/check.log"
		# shellcheck disable=SC2034 # read by the sourcing script
		FAILED=1
	fi
}

dump_logs() {
	local f glob
	for glob in $LOG_GLOBS; do
		for f in "$TMP"/$glob; do
			[ -s "$f" ] || continue
			echo "# --- $f"
			sed 's/^/#   /' "$f"
		done
	done
}

die() {
	echo "Bail out! $*"
	dump_logs
	exit 1
}

# netns_setup_pair IF1 IF2: a veth pair IF1 (in NS1) - IF2 (in NS2) with 192.0.2.1 and
# 2001:db8::1 / 192.0.2.2 and 2001:db8::2, and the inner addresses on lo: 10.1.0.1 and
# fd01::1 in NS1, 10.2.0.1 and fd02::1 in NS2.
netns_setup_pair() {
	ip netns add "$NS1" && ip netns add "$NS2" || die "cannot create namespaces"
	ip link add "$1" netns "$NS1" type veth peer name "$2" netns "$NS2" || die "no veth"
	in1 ip addr add 192.0.2.1/24 dev "$1"
	in2 ip addr add 192.0.2.2/24 dev "$2"
	in1 ip addr add 2001:db8::1/64 dev "$1" nodad
	in2 ip addr add 2001:db8::2/64 dev "$2" nodad
	in1 ip addr add 10.1.0.1/32 dev lo
	in2 ip addr add 10.2.0.1/32 dev lo
	in1 ip addr add fd01::1/128 dev lo
	in2 ip addr add fd02::1/128 dev lo
	ip -n "$NS1" link set lo up
	ip -n "$NS2" link set lo up
	in1 ip link set "$1" up
	in2 ip link set "$2" up
}

# start_vpnd NAME NS: vpnd in NS, log in $TMP/NAME.log (appended), pid in pid_NAME
start_vpnd() {
	local name=$1 ns=$2
	ip netns exec "$ns" "$VPND" --config "$TMP/$name/vpnd.conf" \
		>>"$TMP/$name.log" 2>&1 &
	PIDS+=($!)
	eval "pid_$name=$!"
}

# wait_log NAME PATTERN SECONDS [COUNT [AFTER]]: COUNT (1) lines matching PATTERN in
# NAME's log past its first AFTER (0) lines
wait_log() {
	for _ in $(seq $(($3 * 10))); do
		[ "$(tail -n +$((${5:-0} + 1)) "$TMP/$1.log" 2>/dev/null | grep -c -- "$2")" -ge "${4:-1}" ] &&
			return 0
		sleep 0.1
	done
	echo "$1: fewer than ${4:-1} lines match: $2"
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

pings() { # NS SRC DST
	ip netns exec "$1" ping -q -c 3 -i 0.2 -W 2 -I "$2" "$3"
}

no_ping() { # NS SRC DST: not one reply
	! ip netns exec "$1" ping -q -c 2 -i 0.2 -W 1 -I "$2" "$3"
}

# start_capture NS IFACE OUTFILE: tests/lib/capture.py on IFACE until stop_capture,
# with the veth addresses of netns_setup_pair as the outer ones
start_capture() {
	rm -f "$3" "$3.ready"
	ip netns exec "$1" python3 "$NETNS_LIB/capture.py" "$2" "$3" \
		192.0.2.1 192.0.2.2 2001:db8::1 2001:db8::2 &
	CAPTURE_PID=$!
	PIDS+=("$CAPTURE_PID")
	for _ in $(seq 50); do
		[ -e "$3.ready" ] && return 0
		sleep 0.1
	done
	die "the capture did not start"
}

stop_capture() {
	kill -TERM "$CAPTURE_PID"
	wait "$CAPTURE_PID"
}

captured() { # FILE KEY
	awk -v k="$2" '$1 == k { print $2 }' "$1"
}

# capture_clean FILE [KEY…]: each KEY (default esp) seen, and nothing but IKE, ESP and
# neighbour discovery: no other packet, no inner address, no ICMP echo in the clear
capture_clean() {
	local file=$1 k ok=0
	shift
	for k in ike500 ike4500 esp other inner icmp-echo; do
		printf '%s=%s ' "$k" "$(captured "$file" "$k")"
	done
	echo
	grep '^other-packet' "$file"
	for k in "${@:-esp}"; do
		[ "$(captured "$file" "$k")" -gt 0 ] || ok=1
	done
	[ "$ok" = 0 ] && [ "$(captured "$file" other)" = 0 ] &&
		[ "$(captured "$file" inner)" = 0 ] && [ "$(captured "$file" icmp-echo)" = 0 ]
}

# last_esp FILE DST: the last ESP datagram (hex) the capture saw towards address DST
last_esp() {
	local dst_hex
	dst_hex=$(python3 -c "import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).packed.hex())" "$2")
	awk -v d="$dst_hex" '$1 == "last" && $2 == d { print $3 }' "$1"
}

# forge NS DST HEXPAYLOAD MODE: tests/lib/forge.py from NS to DST:4500
forge() {
	ip netns exec "$1" python3 "$NETNS_LIB/forge.py" "$2" "$3" "$4"
}
