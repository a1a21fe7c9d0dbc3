#!/bin/bash
# The IKE engine against strongSwan's charon on the wire, through tests/interop/lib.sh:
# charon (kernel-libipsec, so it forces ESP in UDP) in namespace A, the engine on UDP
# via ikev2-udp-peer in namespace B. IKEv2 with PSK, both directions: charon initiates,
# then the engine initiates and rekeys the child, the IKE SA and the child again.
# Passes when both sides list the IKE SA and child SA (after the rekeys: the new ones,
# with the same keys).
# Usage: interop-charon.sh BUILD_DIR. TAP output; exit 77 when not root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: $0 BUILD_DIR}
# shellcheck source=tests/interop/lib.sh
. "$here/../interop/lib.sh"

interop_require
peer_bin=$build/tests/engine/ikev2-udp-peer
export VPND_PLUGIN_BUILDDIR=$build/plugins
echo "1..9"
interop_init
export INTEROP_LOGLEVEL=${INTEROP_LOGLEVEL:-4}
A=vpnd-ea-$$ B=vpnd-eb-$$
interop_netns_pair "$A" "$B"
interop_site_conf "$A" "$B" "${IKE:-aes256gcm16-prfsha256-curve25519}" "${ESP:-aes256gcm16}" \
	>"$INTEROP_DIR/a.conf"
interop_charon_start "$A" "$INTEROP_DIR/a.conf"

run_peer() { # ARGS…: the engine in B, in the background; its pid in $peer
	ip netns exec "$B" "$peer_bin" --local 192.0.2.2 --remote 192.0.2.1 \
		--local-id "$B.vpnd.test" --remote-id "$A.vpnd.test" --psk "$INTEROP_PSK" \
		--ike "${IKE:-aes256gcm16-prfsha256-curve25519}" --esp "${ESP:-aes256gcm16}" \
		--local-ts 10.2.0.0/24 --remote-ts 10.1.0.0/24 "$@" \
		>"$INTEROP_DIR/peer.out" 2>&1 &
	peer=$!
	interop_track_pid "$peer"
}

# 1: charon initiates
run_peer --timeout 15 --linger 4 --print-keys
sleep 0.3
interop_swanctl "$A" --initiate --child tun --timeout 15 >"$INTEROP_DIR/initiate.out" 2>&1 ||
	{ cat "$INTEROP_DIR/initiate.out" "$INTEROP_DIR/peer.out" >&2; interop_fail "charon --initiate"; }
interop_wait_sa "$A" tun 10
# charon rekeys the child, then the IKE SA, the engine answering
interop_swanctl "$A" --rekey --child tun >/dev/null
sleep 1
interop_swanctl "$A" --rekey --ike tun >/dev/null
wait "$peer" || { cat "$INTEROP_DIR/peer.out" >&2; interop_fail "engine (responder) failed"; }
cp "$INTEROP_DIR/peer.out" "$INTEROP_DIR/peer1.out"
grep -v '# key' "$INTEROP_DIR/peer.out" | sed 's/^/# /'
grep -q '# child tun up' "$INTEROP_DIR/peer.out" || interop_fail "engine: no child up"
echo "ok 1 - charon initiates, the engine responds: IKE SA and child SA up on both"
interop_swanctl "$A" --list-sas | sed 's/^/# /'
grep -q 'INSTALLED, TUNNEL-in-UDP' < <(interop_swanctl "$A" --list-sas) ||
	interop_fail "charon: child not in UDP"
echo "ok 2 - charon's child SA is TUNNEL-in-UDP (NAT detection honoured)"

# charon logs child keys at level 4: its initiator keys are what the engine (responder)
# installs inbound, its responder keys what the engine sends with
charon_key() { # "encryption initiator" [last]: the first (last) such key in charon's log
	awk -v want="$1 key =>" -v last="${2:-}" '
		index($0, want) { on = !done || last; if (on) out = ""; next }
		on && match($0, /> +[0-9]+: /) {
			hex = substr($0, RSTART + RLENGTH, 48); gsub(/[^0-9A-Fa-f]/, "", hex)
			out = out hex; next }
		on { on = 0; done = 1 }
		END { print tolower(out) }' "$INTEROP_DIR/$A/charon.log"
}
want_in=$(charon_key "encryption initiator")$(charon_key "integrity initiator")
want_out=$(charon_key "encryption responder")$(charon_key "integrity responder")
have_in=$(awk '$2 == "key" && $3 == "in" { print $4; exit }' "$INTEROP_DIR/peer1.out")
have_out=$(awk '$2 == "key" && $3 == "out" { print $4; exit }' "$INTEROP_DIR/peer1.out")
[ -n "$want_in" ] && [ "$want_in" = "$have_in" ] && [ "$want_out" = "$have_out" ] ||
	interop_fail "child keys differ: charon i->r $want_in r->i $want_out, engine in $have_in out $have_out"
echo "ok 3 - the child SA keys are the same on both sides (charon's level-4 log)"
grep -q '# child tun rekeyed' "$INTEROP_DIR/peer1.out" &&
	grep -q '# ike rekeyed' "$INTEROP_DIR/peer1.out" ||
	interop_fail "engine (responder): charon's child or IKE rekey did not happen"
echo "ok 4 - charon rekeys the child SA and the IKE SA, the engine answers both"
interop_swanctl "$A" --terminate --ike tun --timeout 5 >/dev/null 2>&1 || true

# 2: the engine initiates, then rekeys: child, IKE SA, child (over the new IKE SA)
run_peer --initiate --rekey --timeout 20 --linger 2 --print-keys
wait "$peer" || { cat "$INTEROP_DIR/peer.out" >&2; interop_fail "engine (initiator) failed"; }
grep -v '# key' "$INTEROP_DIR/peer.out" | sed 's/^/# /'
grep -q '# child tun up' "$INTEROP_DIR/peer.out" || interop_fail "engine: no child up"
echo "ok 5 - the engine initiates: its child SA is up"
interop_wait_sa "$A" tun 5
echo "ok 6 - charon lists the engine's IKE SA and child SA"
[ "$(grep -c '# child tun rekeyed' "$INTEROP_DIR/peer.out")" = 2 ] &&
	grep -q '# ike rekeyed' "$INTEROP_DIR/peer.out" || interop_fail "engine: rekeys missing"
echo "ok 7 - charon answers the engine's child, IKE and child rekeys"
sas=$(interop_swanctl "$A" --list-sas)
echo "$sas" | sed 's/^/# /'
ike_spis=$(awk '/# ike rekeyed/ { print $(NF-1), $NF }' "$INTEROP_DIR/peer.out" | tr -d ',')
spi_i=${ike_spis%%_i*} spi_r=$(echo "$ike_spis" | awk '{ sub(/_r$/, "", $2); print $2 }')
child_in=$(awk '/# child tun rekeyed/ { in_ = $7 } END { print in_ }' "$INTEROP_DIR/peer.out")
child_out=$(awk '/# child tun rekeyed/ { out = $9 } END { print out }' "$INTEROP_DIR/peer.out")
echo "$sas" | grep -q "${spi_i}_i\*\? *${spi_r}_r" ||
	interop_fail "charon does not list the rekeyed IKE SA ${spi_i}_i ${spi_r}_r"
echo "$sas" | grep -A1 "in  *${child_out}," | grep -q "out  *${child_in}," ||
	interop_fail "charon does not list the rekeyed child SA in $child_out out $child_in"
echo "ok 8 - charon lists the new IKE SA and child SA only (SPIs $spi_i $spi_r, $child_in)"
[ "$(echo "$sas" | grep -c ESTABLISHED)" = 1 ] || interop_fail "charon kept the old IKE SA"
# the engine started the last rekey, so its outbound keys are charon's "initiator" ones
want_out=$(charon_key "encryption initiator" last)$(charon_key "integrity initiator" last)
want_in=$(charon_key "encryption responder" last)$(charon_key "integrity responder" last)
have_out=$(awk '$2 == "key" && $3 == "out" { k = $4 } END { print k }' "$INTEROP_DIR/peer.out")
have_in=$(awk '$2 == "key" && $3 == "in" { k = $4 } END { print k }' "$INTEROP_DIR/peer.out")
[ -n "$want_in" ] && [ "$want_in" = "$have_in" ] && [ "$want_out" = "$have_out" ] ||
	interop_fail "rekeyed child keys differ: charon i->r $want_out r->i $want_in, engine out $have_out in $have_in"
echo "ok 9 - the rekeyed child SA's keys (from the new IKE SA's SK_d) match charon's"
