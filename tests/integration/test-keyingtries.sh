#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# keyingtries, vpnd <-> vpnd in two network namespaces. a starts (start_action = start)
# three connections to b while b is not running yet: retry (keyingtries = 0), once
# (keyingtries = 2) and stop (keyingtries = 0); a fourth, late (keyingtries = 0), is
# initiated with swanctl. Each attempt gives up after ~1.5 s of retransmissions. Checked:
# - retry tries again and again; once tries twice, then gives up;
# - swanctl --terminate of stop ends its attempts;
# - swanctl --initiate of late waits through its attempts, as charon's does;
# - b starts: retry comes up by itself and a ping crosses; swanctl's initiate of late
#   succeeds; once and stop stay down.
# Needs root (exit 77 otherwise).
set -u

SWANCTL=${SWANCTL:-swanctl}
# shellcheck source=tests/lib/netns.sh
. "$(dirname "$0")/../lib/netns.sh"
# shellcheck source=tests/lib/vpnd.sh
. "$(dirname "$0")/../lib/vpnd.sh"
netns_test_setup keyingtries

# an attempt without an answer ends after the first send and one retransmission
SETTINGS='ike {
	retransmit_timeout = 0.5
	retransmit_tries = 1
}'

# conn NAME N KEYINGTRIES [START_ACTION]: a's connection NAME, child netN 10.1.N.1 <->
# 10.2.N.1
conn() {
	cat <<CONF
	$1 {
		local_addrs = 192.0.2.1
		remote_addrs = 192.0.2.2
		proposals = aes256gcm16-prfsha256-curve25519
		keyingtries = $3
		local {
			auth = psk
			id = $1.a.example.org
		}
		remote {
			auth = psk
			id = b.example.org
		}
		children {
			net$2 {
				local_ts = 10.1.$2.1/32
				remote_ts = 10.2.$2.1/32
				esp_proposals = aes256gcm16
				start_action = ${4:-start}
			}
		}
	}
CONF
}

write_a() {
	vpnd_conf a
	{
		echo "connections {"
		conn retry 1 0
		conn once 2 2
		conn stop 3 0
		conn late 4 0 none
		echo "}"
		vpnd_secrets
	} >"$TMP/a/conf.d/site.conf"
	echo "$SETTINGS" >>"$TMP/a/vpnd.conf"
}

write_b() { vpnd_gateway b "$SETTINGS"; }

swanctl_a() {
	STRONGSWAN_CONF=$TMP/strongswan.conf timeout -s KILL 30 \
		"$SWANCTL" "$@" --uri "unix://$TMP/a/vici"
}

attempts() { grep -c "$1: initiating IKE SA" "$TMP/a.log"; }

[ -x "$VPND" ] || die "no vpnd at $VPND"
netns_setup_pair kt1 kt2
for n in 1 2 3 4; do
	in1 ip addr add "10.1.$n.1/32" dev lo
	in2 ip addr add "10.2.$n.1/32" dev lo
done
write_a
write_b
printf 'swanctl {\n\tload = pem\n}\n' >"$TMP/strongswan.conf"
start_vpnd a "$NS1"
wait_log a "running" 10 || die "vpnd a did not start"

retrying() {
	wait_log a "retry: peer not responding, trying again (attempt 2)" 10 &&
		wait_log a "retry: peer not responding, trying again (attempt 3)" 10 &&
		wait_log a "once: peer not responding, trying again (attempt 2 of 2)" 1 &&
		wait_log a "once: giving up after 2 attempts (keyingtries)" 10 &&
		[ "$(attempts once)" = 2 ]
}
check "no answer: keyingtries = 0 tries again and again, keyingtries = 2 twice" retrying

stopped() {
	local n
	wait_log a "stop: peer not responding, trying again (attempt 2)" 5 &&
		swanctl_a --terminate --ike stop >/dev/null 2>&1
	n=$(attempts stop)
	sleep 4
	echo "stop: $n attempts at the terminate, $(attempts stop) 4 s later"
	[ "$(attempts stop)" = "$n" ]
}
check "swanctl --terminate ends the attempts" stopped

initiating() {
	swanctl_a --initiate --child net4 >"$TMP/late.out" 2>&1 &
	late=$!
	PIDS+=("$late")
	wait_log a "late: peer not responding, trying again (attempt 3)" 10 &&
		kill -0 "$late" 2>/dev/null
}
check "swanctl --initiate waits through the attempts" initiating

start_vpnd b "$NS2"
wait_log b "running" 10 || die "vpnd b did not start"

peer_back() {
	wait_log a "retry: CHILD SA net1 up" 10 && pings "$NS1" 10.1.1.1 10.2.1.1 &&
		[ "$(attempts once)" = 2 ] && no_ping "$NS1" 10.1.2.1 10.2.2.1 &&
		no_ping "$NS1" 10.1.3.1 10.2.3.1
}
check "b starts: retry comes up by itself and carries a ping; once and stop stay down" peer_back

initiated() {
	wait "$late"
	local rc=$?
	sed 's/^/# /' "$TMP/late.out" | tail -3
	[ "$rc" = 0 ] && grep -q "initiate completed successfully" "$TMP/late.out" &&
		pings "$NS1" 10.1.4.1 10.2.4.1
}
check "and swanctl's initiate of late succeeds; its tunnel carries a ping" initiated

check "vpnd a stops on SIGTERM with status 0" stop_vpnd a
check "vpnd b stops on SIGTERM with status 0" stop_vpnd b
PIDS=()

netns_test_end
