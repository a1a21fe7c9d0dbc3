#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# dpd_action and close_action, vpnd <-> vpnd in two network namespaces. a has three
# connections to b, each with its own identity and one child: site1/net1 with
# dpd_action = restart, site2/net2 with dpd_action = trap, site3/net3 with close_action
# = restart. Checked:
# - b frozen (SIGSTOP): a's DPD gets no answer, all IKE SAs go down ("peer not
#   responding"); site1 initiates again at once, site2 installs its trap policy, site3
#   (dpd_action none) stays down; once b runs again, net1 comes back by itself and net2
#   with the first packet for it (a ping), both pinged through;
# - b deletes net3's child (swanctl --terminate --child-id on b): a creates it again on
#   the same IKE SA (close_action = restart), and it is pinged through; net1 stays;
# - b deletes site1's IKE SA (--terminate --ike-id): a does not restart it (its
#   close_action is none); site2 and site3, IKE SAs of the same connection on b, stay.
# Needs root (exit 77 otherwise).
set -u

SWANCTL=${SWANCTL:-swanctl}
# shellcheck source=tests/lib/netns.sh
. "$(dirname "$0")/../lib/netns.sh"
# shellcheck source=tests/lib/vpnd.sh
. "$(dirname "$0")/../lib/vpnd.sh"
netns_test_setup dpd

# fast liveness checks: DPD after 1 s of silence, given up after ~1.5 s more
SETTINGS='ike {
	retransmit_timeout = 0.5
	retransmit_tries = 2
}'

# conn N DPD_ACTION CLOSE_ACTION: a's connection siteN, child netN 10.1.N.1 <-> 10.2.N.1
conn() {
	cat <<CONF
	site$1 {
		local_addrs = 192.0.2.1
		remote_addrs = 192.0.2.2
		proposals = aes256gcm16-prfsha256-curve25519
		dpd_delay = 1s
		local {
			auth = psk
			id = a$1.example.org
		}
		remote {
			auth = psk
			id = b.example.org
		}
		children {
			net$1 {
				local_ts = 10.1.$1.1/32
				remote_ts = 10.2.$1.1/32
				esp_proposals = aes256gcm16
				start_action = start
				dpd_action = $2
				close_action = $3
			}
		}
	}
CONF
}

write_a() {
	vpnd_conf a
	{
		echo "connections {"
		conn 1 restart none
		conn 2 trap none
		conn 3 none restart
		echo "}"
		vpnd_secrets
	} >"$TMP/a/conf.d/site.conf"
	echo "$SETTINGS" >>"$TMP/a/vpnd.conf"
}

# b: one connection for all of a's identities, its selectors narrowed per child: the
# terminations below pick one SA of it by unique id
write_b() { vpnd_gateway b "$SETTINGS"; }

swanctl_b() {
	STRONGSWAN_CONF=$TMP/strongswan.conf timeout -s KILL 30 \
		"$SWANCTL" "$@" --uri "unix://$TMP/b/vici"
}

lines() { wc -l <"$TMP/$1.log"; }

[ -x "$VPND" ] || die "no vpnd at $VPND"
netns_setup_pair dpd1 dpd2
for n in 1 2 3; do
	in1 ip addr add "10.1.$n.1/32" dev lo
	in2 ip addr add "10.2.$n.1/32" dev lo
done
write_a
write_b
printf 'swanctl {\n\tload = pem\n}\n' >"$TMP/strongswan.conf"
start_vpnd b "$NS2"
wait_log b "running" 10 || die "vpnd b did not start"
start_vpnd a "$NS1"
for n in 1 2 3; do
	wait_log a "site$n: CHILD SA net$n up" 20 || die "no tunnel net$n"
done

frozen() {
	local from
	from=$(lines a)
	kill -STOP "$pid_b"
	wait_log a "site1: IKE SA [0-9]* down: peer not responding" 15 1 "$from" &&
		wait_log a "site2: IKE SA [0-9]* down: peer not responding" 5 1 "$from" &&
		wait_log a "site3: IKE SA [0-9]* down: peer not responding" 5 1 "$from" &&
		wait_log a "site1: restarting CHILD SA net1 (peer not responding)" 5 1 "$from" &&
		wait_log a "site1: initiating IKE SA" 5 1 "$from" &&
		wait_log a "site2: 1 trap policy installed for net2" 5 1 "$from" &&
		! tail -n +"$((from + 1))" "$TMP/a.log" | grep -q "site[23]: initiating IKE SA"
}
check "b frozen: DPD takes each IKE SA down; site1 restarts, site2 traps, site3 rests" frozen
kill -CONT "$pid_b"

back() {
	wait_log a "site1: CHILD SA net1 up" 20 2 && pings "$NS1" 10.1.1.1 10.2.1.1 &&
		pings "$NS1" 10.1.2.1 10.2.2.1 && wait_log a "site2: CHILD SA net2 up" 5 2 &&
		no_ping "$NS1" 10.1.3.1 10.2.3.1
}
check "b back: net1 up by itself, net2 with its first packet, net3 stays down" back

swanctl_a() {
	STRONGSWAN_CONF=$TMP/strongswan.conf timeout -s KILL 30 \
		"$SWANCTL" "$@" --uri "unix://$TMP/a/vici"
}

# ike_id_of_b ID, child_id_of_b ID: the unique ids of b's IKE SA (and of its child)
# whose peer is ID, read off swanctl --list-sas
ike_id_of_b() {
	swanctl_b --list-sas | awk -v id="'$1'" '
		/^[^ ].*: #[0-9]+,/ { cur = $2; gsub(/[#,]/, "", cur) }
		$1 == "remote" && $2 == id { print cur; exit }'
}
child_id_of_b() {
	swanctl_b --list-sas | awk -v id="'$1'" '
		/^[^ ].*: #[0-9]+,/ { mine = 0 }
		$1 == "remote" && $2 == id { mine = 1 }
		mine && /^  [^ ].*: #[0-9]+,/ { c = $2; gsub(/[#,]/, "", c); print c; exit }'
}

# site3 has no tunnel since b was frozen: up again, then b closes its child
closed_child() {
	local from id
	swanctl_a --initiate --child net3 >/dev/null && wait_log a "site3: CHILD SA net3 up" 10 2 ||
		return 1
	from=$(lines a)
	id=$(child_id_of_b a3.example.org)
	echo "b's child with a3: #$id"
	# by child-id: that one child, not every child named lan
	[ -n "$id" ] && swanctl_b --terminate --child-id "$id" >/dev/null 2>&1
	wait_log a "site3: CHILD SA net3 down: deleted by peer" 10 1 "$from" &&
		wait_log a "site3: restarting CHILD SA net3 (deleted by peer)" 5 1 "$from" &&
		wait_log a "site3: CHILD SA net3 up" 10 1 "$from" &&
		! tail -n +"$((from + 1))" "$TMP/a.log" | grep -q "site3: IKE SA [0-9]* down" &&
		! tail -n +"$((from + 1))" "$TMP/a.log" | grep -q "site[12]: CHILD SA net[12] down" &&
		pings "$NS1" 10.1.3.1 10.2.3.1 && pings "$NS1" 10.1.1.1 10.2.1.1
}
check "b deletes net3's child by id: a creates it again on the same IKE SA (close_action)" closed_child

closed_ike() {
	local from id
	from=$(lines a)
	id=$(ike_id_of_b a1.example.org)
	echo "b's IKE SA with a1: #$id"
	# by ike-id: that one IKE SA of gw, the others stay
	[ -n "$id" ] && swanctl_b --terminate --ike-id "$id" >/dev/null 2>&1
	wait_log a "site1: IKE SA [0-9]* down: deleted by peer" 10 1 "$from" &&
		sleep 1 &&
		! tail -n +"$((from + 1))" "$TMP/a.log" | grep -q "site1: initiating IKE SA\|site1: restarting" &&
		! tail -n +"$((from + 1))" "$TMP/a.log" | grep -q "site[23]: IKE SA [0-9]* down" &&
		pings "$NS1" 10.1.2.1 10.2.2.1 && pings "$NS1" 10.1.3.1 10.2.3.1
}
check "b deletes site1's IKE SA by id: no restart (close_action none), the others stay" closed_ike

check "vpnd a stops on SIGTERM with status 0" stop_vpnd a
check "vpnd b stops on SIGTERM with status 0" stop_vpnd b
PIDS=()

netns_test_end
