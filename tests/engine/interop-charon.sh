#!/bin/bash
# The IKE engine against strongSwan's charon on the wire, through tests/interop/lib.sh:
# charon (kernel-libipsec, so it forces ESP in UDP) in namespace A, the engine on UDP
# via ikev2-udp-peer in namespace B. IKEv2 with PSK, both directions: charon initiates,
# then the engine initiates. Passes when both sides list the IKE SA and child SA.
# Usage: interop-charon.sh BUILD_DIR. TAP output; exit 77 when not root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: $0 BUILD_DIR}
# shellcheck source=tests/interop/lib.sh
. "$here/../interop/lib.sh"

interop_require
peer_bin=$build/tests/engine/ikev2-udp-peer
export VPND_PLUGIN_BUILDDIR=$build/plugins
echo "1..5"
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
run_peer --timeout 15 --linger 3 --print-keys
sleep 0.3
interop_swanctl "$A" --initiate --child tun --timeout 15 >"$INTEROP_DIR/initiate.out" 2>&1 ||
	{ cat "$INTEROP_DIR/initiate.out" "$INTEROP_DIR/peer.out" >&2; interop_fail "charon --initiate"; }
interop_wait_sa "$A" tun 10
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
charon_key() { # "encryption initiator" …: the first such key in charon's log, as hex
	awk -v want="$1 key =>" '
		index($0, want) { on = !done; next }
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
interop_swanctl "$A" --terminate --ike tun --timeout 5 >/dev/null 2>&1 || true

# 2: the engine initiates
run_peer --initiate --timeout 15 --linger 2
wait "$peer" || { cat "$INTEROP_DIR/peer.out" >&2; interop_fail "engine (initiator) failed"; }
sed 's/^/# /' "$INTEROP_DIR/peer.out"
echo "ok 4 - the engine initiates: its child SA is up"
interop_wait_sa "$A" tun 5
echo "ok 5 - charon lists the engine's IKE SA and child SA"
