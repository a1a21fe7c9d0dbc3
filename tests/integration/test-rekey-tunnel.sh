#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Rekeying under traffic, vpnd <-> vpnd: two network namespaces (tests/lib/netns.sh), a
# vpnd in each with one connection (PSK, curve25519, ESP in UDP with kernel-tun) whose
# child SA is rekeyed every 2-4 s (rekey_time 4s, life_time 10s) and whose IKE SA every
# 6-7 s (rekey_time 7s), both sides timing their own rekeys (so they also collide).
# A ping runs through the tunnel the whole time (five per second for 16 s).
# Checked: child and IKE rekeys happened on both sides (as rekeys, never as a child or
# IKE SA going down), the connection's SPIs changed, pings got through after the
# rekeys with at most a few lost, and both daemons exit 0 without sanitizer reports.
# Needs root (exit 77 otherwise).
set -u

# shellcheck source=tests/lib/netns.sh
. "$(dirname "$0")/../lib/netns.sh"
# shellcheck source=tests/lib/vpnd.sh
. "$(dirname "$0")/../lib/vpnd.sh"
netns_test_setup rk

write_side() { # NAME START_ACTION LOCAL REMOTE L R (L, R: the inner address numbers)
	local dir=$TMP/$1
	vpnd_conf "$1"
	cat >"$dir/conf.d/site.conf" <<CONF
connections {
	site {
		local_addrs = $3
		remote_addrs = $4
		proposals = aes256gcm16-prfsha256-curve25519
		rekey_time = 7s
		over_time = 5s
		local {
			auth = psk
			id = $1.example.org
		}
		remote {
			auth = psk
		}
		children {
			net {
				local_ts = 10.$5.0.1/32
				remote_ts = 10.$6.0.1/32
				esp_proposals = aes256gcm16-curve25519
				rekey_time = 4s
				life_time = 10s
				start_action = $2
			}
		}
	}
}
secrets {
	ike-site {
		id-a = a.example.org
		id-b = b.example.org
		secret = "a throwaway test key, not a real one"
	}
}
CONF
}

wait_log() { # NAME PATTERN SECONDS
	for _ in $(seq $(($3 * 10))); do
		grep -q -- "$2" "$TMP/$1.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "$1: no line matches: $2"
	return 1
}

count() { # NAME PATTERN
	grep -c -- "$2" "$TMP/$1.log"
}

at_least() { # N NAME PATTERN
	local n
	n=$(count "$2" "$3")
	echo "$2: $n lines match: $3"
	[ "$n" -ge "$1" ]
}

none() { # NAME PATTERN
	! grep -- "$2" "$TMP/$1.log"
}

ping_loss() { # at most 3 of 80 lost, and the last ones answered
	local sent got
	sent=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$TMP/ping.log")
	got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$TMP/ping.log")
	echo "ping: $got of $sent answered"
	[ -n "$sent" ] && [ "$sent" -ge 70 ] && [ $((sent - got)) -le 3 ] &&
		tail -n 8 "$TMP/ping.log" | grep -q 'bytes from 10.2.0.1'
}

[ -x "$VPND" ] || die "no vpnd at $VPND"
netns_setup_pair rk1 rk2
write_side a start 192.0.2.1 192.0.2.2 1 2
write_side b none 192.0.2.2 192.0.2.1 2 1
start_vpnd b "$NS2"
wait_log b "running" 10 || die "vpnd b did not start"
start_vpnd a "$NS1"
wait_log a "site: CHILD SA net up" 20 || die "no tunnel"
wait_log b "site: CHILD SA net up" 5 || die "no tunnel on b"
first_spi=$(sed -n 's/.*CHILD SA net up, SPIs \([0-9a-f]*\) (in).*/\1/p' "$TMP/a.log" | head -1)

in1 ping -n -i 0.2 -c 80 -W 1 -I 10.1.0.1 10.2.0.1 >"$TMP/ping.log" 2>&1
check "ping through the tunnel while it is rekeyed: at most 3 of 80 lost" ping_loss
check "a: child SA rekeyed (at least 3 times)" at_least 3 a "site: CHILD SA net rekeyed"
check "b: child SA rekeyed (at least 3 times)" at_least 3 b "site: CHILD SA net rekeyed"
check "a: IKE SA rekeyed (at least once)" at_least 1 a "site: IKE SA [0-9]* rekeyed, now IKE SA"
check "b: IKE SA rekeyed (at least once)" at_least 1 b "site: IKE SA [0-9]* rekeyed, now IKE SA"
check "no child SA went down on either side" \
	bash -c "! grep 'CHILD SA net down' '$TMP/a.log' '$TMP/b.log'"
check "no IKE SA went down on either side" \
	bash -c "! grep 'site: IKE SA [0-9]* down' '$TMP/a.log' '$TMP/b.log'"
last_spi=$(sed -n 's/.*CHILD SA net rekeyed, SPIs \([0-9a-f]*\) (in).*/\1/p' "$TMP/a.log" | tail -1)
check "the child's SPIs changed ($first_spi -> $last_spi)" \
	test -n "$last_spi" -a "$last_spi" != "$first_spi"
check "ping still answered after the rekeys" pings "$NS1" 10.1.0.1 10.2.0.1
check "vpnd a stops on SIGTERM with status 0" stop_vpnd a
check "vpnd b stops on SIGTERM with status 0" stop_vpnd b
PIDS=()

netns_test_end
