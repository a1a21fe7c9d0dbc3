#!/bin/bash
# charon <-> charon through the interop harness (lib.sh): two Debian charons with
# kernel-libipsec in two network namespaces, IKEv2 PSK,
# aes256gcm16-prfsha256-curve25519 / aes256gcm16. Checks that the IKE_SA and the
# CHILD_SA come up on both sides, that a ping crosses the tunnel both ways as ESP in
# UDP 4500 (the CHILD_SA counters move), and that teardown leaves no namespace and
# no process behind. This is the fixture vpnd's side of the matrix plugs into.
# TAP output; exit 77 only when not root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/interop/lib.sh
. "$here/lib.sh"

interop_require ping
echo "1..7"
interop_init
A=vpnd-ia-$$ B=vpnd-ib-$$
t0=$SECONDS

interop_netns_pair "$A" "$B"
interop_site_conf "$A" "$B" >"$INTEROP_DIR/a.conf"
interop_site_conf "$B" "$A" >"$INTEROP_DIR/b.conf"
interop_charon_start "$B" "$INTEROP_DIR/b.conf"
interop_charon_start "$A" "$INTEROP_DIR/a.conf"
pid_a=$(interop_charon_pid "$A") pid_b=$(interop_charon_pid "$B")
echo "ok 1 - two charons up in $A and $B (pids $pid_a $pid_b)"

interop_swanctl "$A" --initiate --child tun --timeout 20 >"$INTEROP_DIR/initiate.out" 2>&1 ||
	{ cat "$INTEROP_DIR/initiate.out" >&2; interop_fail "swanctl --initiate"; }
interop_wait_sa "$A" tun 10
interop_wait_sa "$B" tun 10
sas_a=$(interop_swanctl "$A" --list-sas)
sas_b=$(interop_swanctl "$B" --list-sas)
printf '%s\n' "$sas_a" | sed 's/^/# /'
for want in 'ESTABLISHED, IKEv2' "local  '$A.vpnd.test' @ 192.0.2.1\[4500\]" \
	"remote '$B.vpnd.test' @ 192.0.2.2\[4500\]" AES_GCM_16-256/PRF_HMAC_SHA2_256/CURVE_25519 \
	'INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-256' 'local  10.1.0.0/24' 'remote 10.2.0.0/24'; do
	grep -q -- "$want" <<<"$sas_a" || interop_fail "$A --list-sas lacks: $want"
done
for want in 'ESTABLISHED, IKEv2' 'INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-256' \
	'local  10.2.0.0/24' 'remote 10.1.0.0/24'; do
	grep -q -- "$want" <<<"$sas_b" || interop_fail "$B --list-sas lacks: $want"
done
echo "ok 2 - IKE_SA ESTABLISHED and CHILD_SA INSTALLED (TUNNEL-in-UDP) on both sides"

interop_ping "$A" 10.2.0.1 3 >"$INTEROP_DIR/ping-ab.out" 2>&1 ||
	{ cat "$INTEROP_DIR/ping-ab.out" >&2; interop_fail "ping 10.1.0.1 -> 10.2.0.1"; }
echo "ok 3 - ping $A 10.1.0.1 -> $B 10.2.0.1 through the tunnel"
interop_ping "$B" 10.1.0.1 3 >"$INTEROP_DIR/ping-ba.out" 2>&1 ||
	{ cat "$INTEROP_DIR/ping-ba.out" >&2; interop_fail "ping 10.2.0.1 -> 10.1.0.1"; }
echo "ok 4 - ping $B 10.2.0.1 -> $A 10.1.0.1 through the tunnel"

# the pings went through ESP: 6 echo requests and 6 replies in each direction of
# each side's CHILD_SA ("in SPI, BYTES bytes, N packets")
for ns in "$A" "$B"; do
	read -r pin pout < <(interop_swanctl "$ns" --list-sas --child tun |
		awk '{ for (k = 2; k <= NF; k++) if ($k ~ /^packets/) n = $(k - 1) }
		     $1 == "in" { i = n } $1 == "out" { o = n } END { print i + 0, o + 0 }')
	if [ "$pin" -lt 6 ] || [ "$pout" -lt 6 ]; then
		interop_fail "$ns CHILD_SA counted $pin packets in, $pout out (want >= 6 each)"
	fi
done
echo "ok 5 - both CHILD_SAs counted the pings as ESP packets in and out"

# each side's --list-sas, normalized, against the expected output kept beside us
for side in a b; do
	ns=$A
	[ "$side" = b ] && ns=$B
	interop_swanctl "$ns" --list-sas | interop_normalize_sas "$A" "$B" >"$INTEROP_DIR/sas-$side.txt"
	diff -u "$here/expected/charon-baseline-list-sas-$side.txt" "$INTEROP_DIR/sas-$side.txt" >&2 ||
		interop_fail "$ns: --list-sas differs from expected/charon-baseline-list-sas-$side.txt"
done
echo "ok 6 - swanctl --list-sas on both sides matches expected/charon-baseline-list-sas-{a,b}.txt"

# teardown: the IKE_SA goes on both sides, then the harness removes everything
interop_swanctl "$A" --terminate --ike tun --timeout 10 >/dev/null 2>&1 ||
	interop_fail "swanctl --terminate"
for _ in $(seq 1 25); do
	interop_swanctl "$B" --list-sas 2>/dev/null | grep -q ESTABLISHED || break
	sleep 0.2
done
interop_swanctl "$B" --list-sas 2>/dev/null | grep -q ESTABLISHED &&
	interop_fail "$B still lists the IKE_SA after $A deleted it"
# tear down now (the EXIT trap does it too, and removes the state dir) and check
# that nothing is left
interop_teardown
for pid in "$pid_a" "$pid_b"; do
	[ -e "/proc/$pid" ] && interop_fail "charon pid $pid still exists after teardown"
done
for ns in "$A" "$B"; do
	ip netns list | grep -qw -- "$ns" && interop_fail "namespace $ns still exists after teardown"
done
echo "ok 7 - teardown: IKE_SA deleted on both sides; no namespace or process left ($((SECONDS - t0)) s)"
