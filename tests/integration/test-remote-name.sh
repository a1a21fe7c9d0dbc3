#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# remote_addrs as a DNS name, vpnd <-> vpnd in two network namespaces. a's namespace
# has its own /etc/hosts (ip netns exec binds /etc/netns/NAME/hosts over it) that names
# b gw.vpnd.test, and a resolv.conf whose server is an address of the veth's subnet
# that nobody has (a lookup of any other name fails after a second). Checked:
# - byname (remote_addrs = gw.vpnd.test, start_action = start, no local_addrs) comes up
#   to b, whose address vpnd looked up, from the address its route leaves from, and
#   carries a ping; swanctl --list-conns shows the name;
# - swanctl --initiate of noname (remote_addrs = nosuch.invalid) fails at once, saying
#   the name does not resolve, and vpnd runs on;
# - a reload of the connections while such a lookup runs starts it over under the new
#   configuration, and the waiting initiate still gets its answer.
# Needs root (exit 77 otherwise).
set -u

SWANCTL=${SWANCTL:-swanctl}
# shellcheck source=tests/lib/netns.sh
. "$(dirname "$0")/../lib/netns.sh"
# shellcheck source=tests/lib/vpnd.sh
. "$(dirname "$0")/../lib/vpnd.sh"
netns_test_setup rname

# conn NAME N REMOTE START_ACTION: a's connection NAME, child netN 10.1.N.1 <-> 10.2.N.1
conn() {
	cat <<CONF
	$1 {
		remote_addrs = $3
		proposals = aes256gcm16-prfsha256-curve25519
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
				start_action = $4
			}
		}
	}
CONF
}

write_a() {
	vpnd_conf a
	{
		echo "connections {"
		conn byname 1 gw.vpnd.test start
		conn noname 2 nosuch.invalid none
		echo "}"
		vpnd_secrets
	} >"$TMP/a/conf.d/site.conf"
}

swanctl_a() {
	STRONGSWAN_CONF=$TMP/strongswan.conf timeout -s KILL 30 \
		"$SWANCTL" "$@" --uri "unix://$TMP/a/vici"
}

[ -x "$VPND" ] || die "no vpnd at $VPND"
netns_setup_pair rn1 rn2
for n in 1 2; do
	in1 ip addr add "10.1.$n.1/32" dev lo
	in2 ip addr add "10.2.$n.1/32" dev lo
done
mkdir -p "/etc/netns/$NS1"
printf '127.0.0.1 localhost\n192.0.2.2 gw.vpnd.test\n' >"/etc/netns/$NS1/hosts"
printf 'nameserver 192.0.2.99\noptions timeout:1 attempts:1\n' >"/etc/netns/$NS1/resolv.conf"
write_a
vpnd_gateway b
printf 'swanctl {\n\tload = pem\n}\n' >"$TMP/strongswan.conf"
start_vpnd b "$NS2"
wait_log b "running" 10 || die "vpnd b did not start"
start_vpnd a "$NS1"

by_name() {
	wait_log a "byname: gw.vpnd.test is 192.0.2.2" 10 &&
		wait_log a "byname: CHILD SA net1 up" 10 && pings "$NS1" 10.1.1.1 10.2.1.1 &&
		swanctl_a --list-conns | grep -q "remote: gw.vpnd.test" &&
		swanctl_a --list-sas | grep -q "local  'byname.a.example.org' @ 192.0.2.1"
}
check "remote_addrs = gw.vpnd.test: looked up, the tunnel comes up and carries a ping" by_name

no_name() {
	local rc start=$SECONDS
	swanctl_a --initiate --child net2 >"$TMP/noname.out" 2>&1
	rc=$?
	sed 's/^/# /' "$TMP/noname.out" | tail -2
	[ "$rc" != 0 ] && [ $((SECONDS - start)) -lt 15 ] &&
		grep -q "establishing CHILD_SA 'net2' failed: cannot resolve nosuch.invalid" \
			"$TMP/noname.out" &&
		wait_log a "noname: cannot resolve nosuch.invalid" 1 && pings "$NS1" 10.1.1.1 10.2.1.1
}
check "a name that does not resolve: swanctl --initiate fails at once and says why" no_name

reloaded() {
	local rc
	swanctl_a --initiate --child net2 >"$TMP/reload.out" 2>&1 &
	local init=$!
	PIDS+=("$init")
	sleep 0.3 # the lookup waits for the server that is not there
	swanctl_a --load-conns --file "$TMP/a/conf.d/site.conf" >/dev/null 2>&1 || return 1
	wait "$init"
	rc=$?
	sed 's/^/# /' "$TMP/reload.out" | tail -1
	[ "$rc" != 0 ] && grep -q "failed: cannot resolve nosuch.invalid" "$TMP/reload.out"
}
check "a reload during the lookup: it starts over, the initiate gets its answer" reloaded

check "vpnd a stops on SIGTERM with status 0" stop_vpnd a
check "vpnd b stops on SIGTERM with status 0" stop_vpnd b
PIDS=()

netns_test_end
