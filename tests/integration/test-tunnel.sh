#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vpnd <-> vpnd: two network namespaces joined by a veth pair (192.0.2.1/.2 and
# 2001:db8::1/::2), a vpnd in each with connections from its own conf_dir (PSK,
# curve25519, aes256gcm16; kernel-tun, so ESP in UDP 4500). Two IKE SAs, one per outer
# family, each with one CHILD SA carrying an IPv4 and an IPv6 inner pair:
#   site4 (outer IPv4): 10.1.0.1 <-> 10.2.0.1 and fd01::1 <-> fd02::1
#   site6 (outer IPv6): 10.1.6.1 <-> 10.2.6.1 and fd01::6 <-> fd02::6
# so all four combinations of inner and outer family are crossed. NS1 initiates.
# Checked: both CHILD SAs up on both sides, ping both ways for every combination, the
# veth carries only UDP 500/4500 between the outer addresses (no inner packet in the
# clear); forged ESP (unknown SPI, replay, flipped ICV bit) sent to the running daemon
# over each outer family is dropped and counted (the knl debug log line carries the
# counter's name and value), and the tunnel still works after; SIGTERM on one side
# sends Delete: the other side removes its SAs and routes and traffic stops, checked
# from each side in turn; both daemons exit 0.
# Needs root (exit 77 otherwise) and python3 for the packet socket and the forgeries.
set -u

if [ "$(id -u)" != 0 ]; then
	echo "not root: skipped"
	exit 77
fi
# python3 comes with scripts/install-deps: its absence is a broken setup, not a skip
command -v python3 >/dev/null || { echo "python3 missing: run scripts/install-deps" >&2; exit 1; }

BUILD=${VPND_BUILD_ROOT:?}
VPND=$BUILD/daemon/vpnd
PLUGINS=${VPND_PLUGIN_BUILDDIR:-$BUILD/plugins}
# shellcheck source=tests/lib/netns.sh
. "$(dirname "$0")/../lib/netns.sh"
netns_init tt

setup_namespaces() {
	netns_setup_pair tt1 tt2
	in1 ip addr add 10.1.6.1/32 dev lo
	in2 ip addr add 10.2.6.1/32 dev lo
	in1 ip addr add fd01::6/128 dev lo
	in2 ip addr add fd02::6/128 dev lo
}

# conn NAME LOCAL REMOTE LOCAL_TS REMOTE_TS START_ACTION: one connection block
conn() {
	cat <<CONF
	$1 {
		local_addrs = $2
		remote_addrs = $3
		proposals = aes256gcm16-prfsha256-curve25519
		local {
			auth = psk
			id = $SIDE.example.org
		}
		remote {
			auth = psk
			id = %any
		}
		children {
			net${1#site} {
				local_ts = $4
				remote_ts = $5
				esp_proposals = aes256gcm16
				start_action = $6
			}
		}
	}
CONF
}

# write_side NAME START_ACTION LOCAL4 REMOTE4 LOCAL6 REMOTE6 INNER_LOCAL INNER_REMOTE
# (INNER_*: 1 or 2, the NS whose inner addresses are meant)
write_side() {
	local dir=$TMP/$1 l=$7 r=$8
	mkdir -p "$dir/conf.d"
	cat >"$dir/vpnd.conf" <<CONF
plugins {
	dir = $PLUGINS
	load = crypto-gnutls kernel-tun
}
vici {
	socket = unix://$dir/vici
}
dbus {
	enable = no
}
log {
	default = info
	knl = debug
}
conf_dir = $dir/conf.d
CONF
	{
		echo "connections {"
		SIDE=$1 conn site4 "$3" "$4" "10.$l.0.1/32,fd0$l::1/128" "10.$r.0.1/32,fd0$r::1/128" "$2"
		SIDE=$1 conn site6 "$5" "$6" "10.$l.6.1/32,fd0$l::6/128" "10.$r.6.1/32,fd0$r::6/128" "$2"
		cat <<CONF
}
secrets {
	ike-site {
		id-a = a.example.org
		id-b = b.example.org
		secret = "a throwaway test key, not a real one"
	}
}
CONF
	} >"$dir/conf.d/site.conf"
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

log_lines() { # NAME: how long its log is now
	wc -l <"$TMP/$1.log"
}

REMOVED='SA [0-9a-f]* \(in\|out\) removed'

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

# both_up: each side reports both CHILD SAs up (COUNT: how many times so far)
both_up() { # COUNT
	wait_log a "site4: CHILD SA net4 up" 20 "$1" && wait_log a "site6: CHILD SA net6 up" 10 "$1" &&
		wait_log b "site4: CHILD SA net4 up" 5 "$1" && wait_log b "site6: CHILD SA net6 up" 5 "$1"
}

# all_pings NS: from NS to the other side, every inner/outer combination
all_pings() {
	local l r
	if [ "$1" = "$NS1" ]; then l=1 r=2; else l=2 r=1; fi
	pings "$1" "10.$l.0.1" "10.$r.0.1" && pings "$1" "fd0$l::1" "fd0$r::1" &&
		pings "$1" "10.$l.6.1" "10.$r.6.1" && pings "$1" "fd0$l::6" "fd0$r::6"
}

no_pings() { # NS: no reply for any combination
	local l r
	if [ "$1" = "$NS1" ]; then l=1 r=2; else l=2 r=1; fi
	no_ping "$1" "10.$l.0.1" "10.$r.0.1" && no_ping "$1" "fd0$l::1" "fd0$r::1" &&
		no_ping "$1" "10.$l.6.1" "10.$r.6.1" && no_ping "$1" "fd0$l::6" "fd0$r::6"
}

# logged NAME TEXT: a line of NAME's log holds TEXT (fixed string)
logged() {
	grep -F -- "$2" "$TMP/$1.log" || { echo "$1: no line with: $2"; return 1; }
}

esp_both_families() { # CAPTURE
	[ -n "$(last_esp "$1" 192.0.2.2)" ] && [ -n "$(last_esp "$1" 2001:db8::2)" ]
}

deleted_by_peer() { # NAME AFTER: both CHILD SAs went down on the peer's Delete
	wait_log "$1" "site4: CHILD SA net4 down: deleted by peer" 5 1 "$2" &&
		wait_log "$1" "site6: CHILD SA net6 down: deleted by peer" 5 1 "$2"
}

# sa_in NAME CHILD: the inbound SPI from "CHILD SA CHILD up, SPIs IN (in) OUT (out)"
sa_in() {
	sed -n "s/.*CHILD SA $2 up, SPIs \([0-9a-f]*\) (in).*/\1/p" "$TMP/$1.log" | tail -1
}

# forgeries OUTER_B CAPTURE CHILD: forged ESP from NS1 to b's OUTER_B, then b's counters
forgeries() {
	local outer=$1 last spi tag=$3
	last=$(last_esp "$2" "$outer")
	spi=$(sa_in b "$3")
	if [ -z "$last" ] || [ -z "$spi" ]; then
		check "$tag: an ESP datagram to $outer was captured" false
		return
	fi
	forge "$NS1" "$outer" "$last" unknown-spi
	forge "$NS1" "$outer" "$last" replay
	forge "$NS1" "$outer" "$last" flip-icv
	check "$tag: replayed packet dropped and counted" \
		wait_log b "sa.in.$spi.drops.replayed = 1)" 3
	check "$tag: flipped ICV bit dropped and counted" \
		wait_log b "sa.in.$spi.drops.auth = 1)" 3
}

[ -x "$VPND" ] || die "no vpnd at $VPND"
setup_namespaces
write_side a start 192.0.2.1 192.0.2.2 2001:db8::1 2001:db8::2 1 2
write_side b none 192.0.2.2 192.0.2.1 2001:db8::2 2001:db8::1 2 1
start_capture "$NS2" tt2 "$TMP/capture"

start_vpnd b "$NS2"
wait_log b "running" 10 || die "vpnd b did not start"
start_vpnd a "$NS1"
check "both CHILD SAs up on both sides" both_up 1
grep -q "CHILD SA net4 up" "$TMP/a.log" || die "no tunnel"

check "ping NS1 -> NS2: IPv4 and IPv6 inside IPv4 and inside IPv6" all_pings "$NS1"
check "ping NS2 -> NS1: IPv4 and IPv6 inside IPv4 and inside IPv6" all_pings "$NS2"
stop_capture
check "the veth carried only UDP 500/4500 between the outer addresses" \
	capture_clean "$TMP/capture" ike500 esp
check "... ESP over both outer families" esp_both_families "$TMP/capture"

# forged ESP into the running daemon b, over each outer family
forgeries 192.0.2.2 "$TMP/capture" net4
forgeries 2001:db8::2 "$TMP/capture" net6
check "unknown SPIs dropped and counted (one per outer family)" \
	wait_log b "(drops.unknown-spi = 2)" 3
check "the tunnel still works after the forgeries" all_pings "$NS1"

# Delete from NS1's side: vpnd a stops (it sends Delete), b removes all four SAs
b_lines=$(log_lines b)
check "vpnd a stops on SIGTERM with status 0" stop_vpnd a
check "b removed its SAs on a's Delete" wait_log b "$REMOVED" 5 4 "$b_lines"
check "... told by a's Delete" deleted_by_peer b "$b_lines"
check "b removed its routes into the tunnel" \
	bash -c "[ -z \"\$(ip -n $NS2 route show dev vpnd0; ip -n $NS2 -6 route show dev vpnd0 | grep -v '^fe80')\" ]"
check "no traffic from b after the delete" no_pings "$NS2"
check "b's vpnd is still running" kill -0 "$pid_b"

# and from NS2's side: a comes back, the tunnel with it, then b stops
start_vpnd a "$NS1"
check "both CHILD SAs up again" both_up 2
check "ping NS2 -> NS1 through the new SAs" all_pings "$NS2"
a_lines=$(log_lines a)
check "vpnd b stops on SIGTERM with status 0" stop_vpnd b
check "a removed its SAs on b's Delete" wait_log a "$REMOVED" 5 4 "$a_lines"
check "... told by b's Delete" deleted_by_peer a "$a_lines"
check "no traffic from a after the delete" no_pings "$NS1"
check "vpnd a stops on SIGTERM with status 0 (again)" stop_vpnd a
PIDS=("$CAPTURE_PID")

[ "$FAILED" = 0 ] && [ -z "${VPND_TEST_VERBOSE:-}" ] || dump_logs
echo "1..$N"
exit "$FAILED"
