# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# tests/lib/netns.sh: what the shell tests that build two network namespaces share
# (test-kernel-tun.sh, test-tunnel.sh). Source it, then call netns_init TAG: it sets
# NS1 and NS2 (named with the PID), TMP (a scratch folder), PIDS (killed and reaped on
# exit), FAILED and N (the TAP state), and a trap that removes all of them on any exit.
# LOG_GLOBS (default "*.log") says which files in TMP dump_logs shows.

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
	rm -rf "$TMP"
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
