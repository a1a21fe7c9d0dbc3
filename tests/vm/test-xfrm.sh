#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs INSIDE the VM (tests/vm/run-in-vm.sh): kernel-xfrm installs real ESP SAs and
# policies between two network namespaces joined by a veth pair, one xfrm-peer per
# namespace; pings must cross, the kernel's counters (`ip -s xfrm state`) must move
# and equal what the plugin's query_sa reports, and closing the plugin must leave no
# SA or policy behind. IPv4 and IPv6, ESP and ESP in UDP. Output: TAP.
#   test-xfrm.sh XFRM_PEER PLUGIN_DIR
set -uo pipefail
. "$(dirname "$0")/lib.sh"
PEER=$1
export VPND_PLUGIN_BUILDDIR=$2
A=vpnd-a B=vpnd-b
R=$(mktemp -d /tmp/vpnd-xfrm.XXXXXX)
T=0 FAILED=0
PIDS=()

cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	ip netns del $A 2>/dev/null
	ip netns del $B 2>/dev/null
	rm -rf "$R"
}
trap cleanup EXIT

ok() { T=$((T + 1)); echo "ok $T - $*"; }
not_ok() { T=$((T + 1)); FAILED=1; echo "not ok $T - $*"; }
check() { # description command...
	local what=$1
	shift
	if "$@" > "$R/check.log" 2>&1; then ok "$what"; else not_ok "$what"; sed 's/^/# /' "$R/check.log"; fi
}

setup() { vm_netns_pair $A $B; }

# start_peer NAME NS ARGS...: xfrm-peer in NS, commands through a FIFO on fd 7/8
start_peer() {
	local name=$1 ns=$2
	shift 2
	mkfifo "$R/$name.in"
	ip netns exec "$ns" "$PEER" "$@" < "$R/$name.in" > "$R/$name.out" 2> "$R/$name.err" &
	PIDS+=($!)
	echo $! > "$R/$name.pid"
}

# wait_for NAME REGEX: until the peer printed a line matching REGEX (<= 30 s)
wait_for() {
	local i
	for ((i = 0; i < 300; i++)); do
		[ "$(lines_matching "$R/$1.out" "$2")" -gt 0 ] && return 0
		kill -0 "$(< "$R/$1.pid")" 2>/dev/null || break
		nap 0.1
	done
	echo "$1 did not print '$2'"; cat "$R/$1.out" "$R/$1.err"
	return 1
}

# kernel_counters FILE SPI: "BYTES PACKETS" of SPI in an `ip -s xfrm state` listing
# ("proto esp spi 0x…(…)", later "lifetime current:" then "N(bytes), M(packets)")
kernel_counters() {
	local line cur=0 next=0
	while IFS= read -r line; do
		if [[ $line =~ ^[[:space:]]*proto\ esp\ spi\ ([0-9a-fx]+) ]]; then
			[ "${BASH_REMATCH[1]}" = "$2" ] && cur=1 || cur=0
		elif [ $cur = 1 ] && [[ $line =~ lifetime\ current: ]]; then
			next=1
		elif [ $next = 1 ] && [[ $line =~ ([0-9]+)\(bytes\),\ ([0-9]+)\(packets\) ]]; then
			echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
			return
		fi
	done < "$1"
}

# peer_counters NAME SPI: "BYTES PACKETS" from the peer's last "stats" answer
peer_counters() {
	local line last=
	while IFS= read -r line; do
		[[ $line =~ ^sa\ [a-z]+\ spi=$2\ bytes=([0-9]+)\ packets=([0-9]+)\ last_use=set ]] &&
			last="${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
	done < "$R/$1.out"
	echo "$last"
}

# counters NAME NS SPI...: every SA moved (>= 3 packets) and the plugin agrees
counters() {
	local name=$1 ns=$2 spi k p i ends
	shift 2
	ends=$(lines_matching "$R/$name.out" '^end')
	echo stats >&"${FD[$name]}"
	for ((i = 0; i < 100; i++)); do
		[ "$(lines_matching "$R/$name.out" '^end')" -gt "$ends" ] && break
		nap 0.1
	done
	ip -n "$ns" -s xfrm state > "$R/$name.state"
	for spi in "$@"; do
		k=$(kernel_counters "$R/$name.state" "$spi")
		p=$(peer_counters "$name" "$spi")
		echo "$name $spi: kernel '$k', plugin '$p'"
		[ -n "$k" ] && [ "$k" = "$p" ] && [ "${k#* }" -ge 3 ] || return 1
	done
}

declare -A FD
# run_case TITLE PING_ARGS... -- PEER_A_ARGS -- PEER_B_ARGS
run_case() {
	local title=$1 ok_quit=1 extra
	shift
	local ping=() a=() b=()
	while [ "$1" != -- ]; do ping+=("$1"); shift; done; shift
	while [ "$1" != -- ]; do a+=("$1"); shift; done; shift
	b=("$@")
	start_peer a $A "${a[@]}"
	start_peer b $B "${b[@]}"
	exec 7> "$R/a.in" 8> "$R/b.in"
	FD[a]=7 FD[b]=8
	if ! wait_for a '^ready' || ! wait_for b '^ready'; then
		not_ok "$title: both ends installed"
		exec 7>&- 8>&-
		wait; rm -f "$R"/a.* "$R"/b.*
		return
	fi
	ok "$title: both ends installed"
	check "$title: ping crosses" ip netns exec $A ping "${ping[@]}"
	check "$title: SAs counted the traffic, plugin reports the same (a)" \
		counters a $A "${SPI_AB}" "${SPI_BA}"
	check "$title: SAs counted the traffic, plugin reports the same (b)" \
		counters b $B "${SPI_AB}" "${SPI_BA}"
	for extra in $EXTRA; do check "$title: ${extra//_/ }" "$extra"; done
	echo quit >&7
	echo quit >&8
	exec 7>&- 8>&-
	wait "$(cat "$R/a.pid")" || ok_quit=0
	wait "$(cat "$R/b.pid")" || ok_quit=0
	PIDS=()
	check "$title: peers exited cleanly" test $ok_quit = 1
	[ $ok_quit = 1 ] || sed 's/^/# /' "$R/a.err" "$R/b.err"
	check "$title: close left no SA or policy" empty_xfrm
	rm -f "$R"/a.* "$R"/b.*
}

empty_xfrm() {
	local ns
	for ns in $A $B; do
		[ -z "$(ip -n $ns xfrm state)" ] && [ -z "$(ip -n $ns xfrm policy)" ] ||
			{ ip -n $ns xfrm state; ip -n $ns xfrm policy; return 1; }
	done
}

SA_has_UDP_encapsulation() {
	ip -n $A xfrm state > "$R/encap.state" &&
		[ "$(lines_matching "$R/encap.state" 'encap type espinudp sport 4500 dport 4500')" = 2 ]
}

# the kernel got the algorithm names and ICV / truncation lengths kernel-xfrm maps to
kernel_has_rfc7539esp_with_128_bit_ICV() {
	ip -n $A xfrm state > "$R/alg.state" &&
		[ "$(lines_matching "$R/alg.state" 'aead rfc7539esp\(chacha20,poly1305\) 0x[0-9a-f]{72} 128')" = 2 ]
}

kernel_has_cbc_aes_and_hmac_sha256_truncated_to_128() {
	ip -n $A xfrm state > "$R/alg.state" &&
		[ "$(lines_matching "$R/alg.state" 'enc cbc\(aes\) 0x[0-9a-f]{32}$')" = 2 ] &&
		[ "$(lines_matching "$R/alg.state" 'auth-trunc hmac\(sha256\) 0x[0-9a-f]{64} 128')" = 2 ]
}

# ESN on, and the replay window xfrm-peer asked for (64 packets: a 2-word bitmap)
kernel_has_ESN_and_replay_window_64() {
	ip -n $A xfrm state > "$R/esn.state" &&
		[ "$(lines_matching "$R/esn.state" 'flag .*esn')" = 2 ] &&
		[ "$(lines_matching "$R/esn.state" 'replay_window 64, bitmap-length 2')" = 2 ] ||
		{ cat "$R/esn.state"; return 1; }
}

# update_sa with unchanged endpoints (UPDSA) keeps the SAs, their counters, the traffic
update_sa_keeps_SAs_and_counters() {
	echo update >&7
	echo update >&8
	wait_for a '^updated' && wait_for b '^updated' &&
		[ "$(lines_matching "$R/a.out" '^error')" = 0 ] &&
		[ "$(lines_matching "$R/b.out" '^error')" = 0 ] &&
		ip netns exec $A ping "${PING4[@]}" > /dev/null &&
		counters a $A "${SPI_AB}" "${SPI_BA}" && counters b $B "${SPI_AB}" "${SPI_BA}" &&
		[ "$(kernel_counters "$R/a.state" "$SPI_AB" | cut -d' ' -f2)" -ge 6 ]
}

# update_sa with new outer addresses (MOBIKE): the SAs are installed again there, the
# policies get the new tunnel endpoints, and traffic flows over the new addresses
update_sa_moves_SAs_to_new_addresses() {
	echo "move 192.0.2.11 192.0.2.12" >&7
	echo "move 192.0.2.12 192.0.2.11" >&8
	wait_for a '^moved' && wait_for b '^moved' &&
		[ "$(lines_matching "$R/a.out" '^error')" = 0 ] &&
		[ "$(lines_matching "$R/b.out" '^error')" = 0 ] &&
		ip netns exec $A ping "${PING4[@]}" > /dev/null &&
		counters a $A "${SPI_AB}" "${SPI_BA}" && counters b $B "${SPI_AB}" "${SPI_BA}" &&
		[ "$(lines_matching "$R/a.state" '^src 192\.0\.2\.11 dst 192\.0\.2\.12$')" = 1 ] &&
		[ "$(lines_matching "$R/a.state" '^src 192\.0\.2\.12 dst 192\.0\.2\.11$')" = 1 ] ||
		{ cat "$R/a.out" "$R/a.state"; return 1; }
}

soft_lifetime_reported_as_EXPIRE_event() {
	wait_for a "^event expire soft spi=$SPI_AB\$"
}

mkfifo "$R/nap"
if ! setup; then
	echo "1..1"
	echo "not ok 1 - network namespaces and veth set up"
	exit 1
fi
SPI_AB=0x0000a001 SPI_BA=0x0000b001
V4=(--local-ts 10.1.0.0/24 --remote-ts 10.2.0.0/24)
V4B=(--local-ts 10.2.0.0/24 --remote-ts 10.1.0.0/24)
V6=(--local-ts fd00:1::/64 --remote-ts fd00:2::/64)
V6B=(--local-ts fd00:2::/64 --remote-ts fd00:1::/64)
PING4=(-c 3 -i 0.2 -W 3 -I 10.1.0.1 10.2.0.1)
PING6=(-6 -c 3 -i 0.2 -W 3 -I fd00:1::1 fd00:2::1)

# the soft lifetime (2 packets) must come back as an EXPIRE event through the plugin
EXTRA="soft_lifetime_reported_as_EXPIRE_event kernel_has_ESN_and_replay_window_64
	update_sa_moves_SAs_to_new_addresses" run_case "IPv4 tunnel, ESP" "${PING4[@]}" -- \
	--local 192.0.2.1 --remote 192.0.2.2 "${V4[@]}" --spi-out $SPI_AB --spi-in $SPI_BA \
	--soft-packets 2 -- \
	--local 192.0.2.2 --remote 192.0.2.1 "${V4B[@]}" --spi-out $SPI_BA --spi-in $SPI_AB
SPI_AB=0x0000a002 SPI_BA=0x0000b002
EXTRA=kernel_has_rfc7539esp_with_128_bit_ICV \
	run_case "IPv6 tunnel, ESP, chacha20poly1305" "${PING6[@]}" -- \
	--local 2001:db8::1 --remote 2001:db8::2 "${V6[@]}" --spi-out $SPI_AB --spi-in $SPI_BA \
	--alg chacha20poly1305 -- \
	--local 2001:db8::2 --remote 2001:db8::1 "${V6B[@]}" --spi-out $SPI_BA --spi-in $SPI_AB \
	--alg chacha20poly1305
SPI_AB=0x0000a003 SPI_BA=0x0000b003
EXTRA="SA_has_UDP_encapsulation update_sa_keeps_SAs_and_counters" \
	run_case "IPv4 tunnel, ESP in UDP" "${PING4[@]}" -- \
	--local 192.0.2.1 --remote 192.0.2.2 "${V4[@]}" --spi-out $SPI_AB --spi-in $SPI_BA --encap -- \
	--local 192.0.2.2 --remote 192.0.2.1 "${V4B[@]}" --spi-out $SPI_BA --spi-in $SPI_AB --encap
SPI_AB=0x0000a004 SPI_BA=0x0000b004
EXTRA=kernel_has_cbc_aes_and_hmac_sha256_truncated_to_128 \
	run_case "IPv6 tunnel, ESP in UDP, aes128-sha256" "${PING6[@]}" -- \
	--local 2001:db8::1 --remote 2001:db8::2 "${V6[@]}" --spi-out $SPI_AB --spi-in $SPI_BA \
	--encap --alg aes128-sha256 -- \
	--local 2001:db8::2 --remote 2001:db8::1 "${V6B[@]}" --spi-out $SPI_BA --spi-in $SPI_AB \
	--encap --alg aes128-sha256

echo "1..$T"
exit $FAILED
