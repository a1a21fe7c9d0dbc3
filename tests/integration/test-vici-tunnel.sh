#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# swanctl drives vpnd through a whole tunnel's life. Two network namespaces joined by a
# veth pair (192.0.2.1 and .2), 10.1.0.1 and 10.2.0.1 on lo, a vpnd in each (kernel-tun,
# so ESP in UDP 4500). vpnd b reads its connection from conf_dir. vpnd a starts with
# none: Debian's swanctl loads the connection and the PSK over VICI (--load-all), which
# opens a's IKE sockets, then --initiate (control-log lines, "initiate completed
# successfully"), --list-sas (state, SPIs, algorithms, TS, packet counts after a ping),
# --rekey of the child and the IKE SA (ike-rekey and child-rekey events on b),
# --counters, --monitor-sa on b (ike-updown/child-updown), --terminate, and both
# daemons stop cleanly. Needs root (exit 77 otherwise).
set -u

SWANCTL=/usr/sbin/swanctl
LOG_GLOBS="*.log *.out"
# shellcheck source=tests/lib/netns.sh
. "$(dirname "$0")/../lib/netns.sh"
netns_test_setup vt

# swanctl SIDE ARGS…: Debian's swanctl against that side's vpnd, bounded in time
swanctl() {
	local side=$1
	shift
	STRONGSWAN_CONF=$TMP/strongswan.conf timeout -s KILL 30 \
		"$SWANCTL" "$@" --uri "unix://$TMP/$side/vici"
}

# write_side NAME: vpnd.conf with an empty conf_dir
write_side() {
	mkdir -p "$TMP/$1/conf.d"
	cat >"$TMP/$1/vpnd.conf" <<CONF
plugins {
	dir = $PLUGINS
	load = crypto-gnutls kernel-tun auth-psk
}
vici {
	socket = unix://$TMP/$1/vici
}
dbus {
	enable = no
}
log {
	default = info
	vici = debug
}
conf_dir = $TMP/$1/conf.d
CONF
}

# conn NAME LOCAL REMOTE LOCAL_TS REMOTE_TS LOCAL_TS6 REMOTE_TS6: a swanctl.conf for
# that side, children net and net6
conn() {
	cat <<CONF
connections {
	site {
		version = 2
		local_addrs = $2
		remote_addrs = $3
		proposals = aes256gcm16-prfsha256-curve25519
		local {
			auth = psk
			id = $1.example.org
		}
		remote {
			auth = psk
			id = %any
		}
		children {
			net {
				local_ts = $4
				remote_ts = $5
				esp_proposals = aes256gcm16
			}
			net6 {
				local_ts = $6
				remote_ts = $7
				esp_proposals = aes256gcm16
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

# ---- the checks ----

load_all() {
	swanctl a --load-all --file "$TMP/a/swanctl.conf" >"$TMP/load.out" 2>&1
	cat "$TMP/load.out"
	grep -qx "loaded ike secret 'ike-site'" "$TMP/load.out" &&
		grep -qx "successfully loaded 1 connections, 0 unloaded" "$TMP/load.out" &&
		grep -q "IKE on UDP 500 and 4500" "$TMP/a.log"
}

initiate() {
	swanctl a --initiate --child net --loglevel 2 >"$TMP/initiate.out" 2>&1
	local rc=$?
	cat "$TMP/initiate.out"
	# control-log lines of this negotiation down to debug, then swanctl's verdict
	[ "$rc" = 0 ] && grep -q '^\[IKE\] sending IKE_SA_INIT request 0$' "$TMP/initiate.out" &&
		grep -Eq '^\[IKE\] IKE SA [0-9]+: CREATED -> CONNECTING$' "$TMP/initiate.out" &&
		grep -q '^\[IKE\] site: CHILD SA net up' "$TMP/initiate.out" &&
		[ "$(tail -n 1 "$TMP/initiate.out")" = "initiate completed successfully" ]
}

second_child() { # on the IKE SA that is up: CREATE_CHILD_SA; control-log at level 0
	swanctl a --initiate --child net6 --loglevel 0 >"$TMP/initiate6.out" 2>&1
	local rc=$?
	cat "$TMP/initiate6.out"
	[ "$rc" = 0 ] && grep -q '^\[IKE\] site: creating CHILD SA net6 on IKE SA ' "$TMP/initiate6.out" &&
		! grep -q '^\[IKE\] sending CREATE_CHILD_SA request' "$TMP/initiate6.out" &&
		[ "$(tail -n 1 "$TMP/initiate6.out")" = "initiate completed successfully" ] &&
		swanctl a --list-sas | grep -Eq '^  net6: #[0-9]+, reqid [0-9]+, INSTALLED, TUNNEL-in-UDP' &&
		in1 ping -q -c 1 -W 2 -I fd01::1 fd02::1 &&
		! swanctl a --initiate --child net6 2>&1 | grep -v 'already up' | grep -q . &&
		child_terminate
}

# --terminate --child net6 deletes that CHILD SA only; then it comes back
child_terminate() {
	swanctl a --terminate --child net6 >"$TMP/terminate6.out" 2>&1
	local rc=$?
	cat "$TMP/terminate6.out"
	[ "$rc" = 0 ] && [ "$(tail -n 1 "$TMP/terminate6.out")" = "terminate completed successfully" ] &&
		! swanctl a --list-sas | grep -q '^  net6: ' &&
		swanctl a --list-sas | grep -Eq '^  net: #[0-9]+, reqid [0-9]+, INSTALLED' &&
		swanctl a --initiate --child net6 >/dev/null 2>&1 &&
		swanctl a --list-sas | grep -Eq '^  net6: #[0-9]+, reqid [0-9]+, INSTALLED'
}

list_sas_up() {
	swanctl a --list-sas >"$TMP/sas.out" 2>&1
	cat "$TMP/sas.out"
	grep -Eq '^site: #[0-9]+, ESTABLISHED, IKEv2, [0-9a-f]{16}_i\* [0-9a-f]{16}_r$' "$TMP/sas.out" &&
		grep -q "^  local  'a.example.org' @ 192.0.2.1\[4500\]$" "$TMP/sas.out" &&
		grep -q "^  remote 'b.example.org' @ 192.0.2.2\[4500\]$" "$TMP/sas.out" &&
		grep -q '^  AES_GCM_16-256/PRF_HMAC_SHA2_256/CURVE_25519$' "$TMP/sas.out" &&
		grep -Eq '^  net: #[0-9]+, reqid [0-9]+, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-256$' "$TMP/sas.out" &&
		grep -q '^    local  10.1.0.1/32$' "$TMP/sas.out" &&
		grep -q '^    remote 10.2.0.1/32$' "$TMP/sas.out" &&
		swanctl a --stats | grep -qx 'IKE_SAs: 1 total, 0 half-open'
}

traffic_counted() {
	in1 ping -q -c 3 -i 0.2 -W 2 -I 10.1.0.1 10.2.0.1 || return 1
	swanctl a --list-sas --raw >"$TMP/sas-raw.out" 2>&1
	cat "$TMP/sas-raw.out"
	grep -q 'packets-in=3 ' "$TMP/sas-raw.out" && grep -q 'packets-out=3 ' "$TMP/sas-raw.out"
}

responder_listed() {
	swanctl b --list-sas >"$TMP/sas-b.out" 2>&1
	cat "$TMP/sas-b.out"
	grep -Eq '^site: #[0-9]+, ESTABLISHED, IKEv2, [0-9a-f]{16}_i [0-9a-f]{16}_r\*$' "$TMP/sas-b.out" &&
		grep -q "^  remote 'a.example.org' @ 192.0.2.1\[4500\]$" "$TMP/sas-b.out"
}

spi_in() { # the inbound SPI of child net on a
	swanctl a --list-sas --raw | sed -En 's/.*name=net .*spi-in=([0-9a-f]{8}) .*/\1/p' | head -n 1
}

rekey() {
	local before after
	before=$(spi_in)
	swanctl a --rekey --child net >"$TMP/rekey.out" 2>&1 || { cat "$TMP/rekey.out"; return 1; }
	wait_log a "site: CHILD SA net rekeyed" 10 || return 1
	swanctl a --rekey --ike site >>"$TMP/rekey.out" 2>&1 || { cat "$TMP/rekey.out"; return 1; }
	wait_log a "site: IKE SA 1 rekeyed, now IKE SA" 10 || return 1
	after=$(spi_in)
	cat "$TMP/rekey.out"
	echo "inbound SPI $before, now $after"
	[ "$(grep -c '^rekey completed successfully$' "$TMP/rekey.out")" = 2 ] &&
		[ -n "$after" ] && [ "$before" != "$after" ] &&
		in1 ping -q -c 1 -W 2 -I 10.1.0.1 10.2.0.1
}

rekey_events() {
	wait "$EVENTS"
	local rc=$?
	cat "$TMP/rekey-events.out"
	[ "$rc" = 0 ] &&
		grep -Eq '^child-rekey \{site \{uniqueid=1 .* child-sas \{net \{old \{name=net .*state=INSTALLED .*spi-in=[0-9a-f]{8} .*\} new \{name=net .*state=INSTALLED .*\}\}\}\}\}$' "$TMP/rekey-events.out" &&
		grep -Eq '^ike-rekey \{site \{old \{uniqueid=1 .*\} new \{uniqueid=[0-9]+ version=2 state=ESTABLISHED .*\}\}\}$' "$TMP/rekey-events.out"
}

counters() {
	swanctl a --counters >"$TMP/counters.out" 2>&1
	cat "$TMP/counters.out"
	grep -qx 'global:' "$TMP/counters.out" &&
		grep -qx '  ike-init-out-req      : 1' "$TMP/counters.out" &&
		grep -qx '  ike-init-in-resp      : 1' "$TMP/counters.out" &&
		grep -qx '  ike-auth-out-req      : 1' "$TMP/counters.out" &&
		grep -qx '  ike-auth-in-resp      : 1' "$TMP/counters.out" &&
		grep -qx '  ike-rekey-init        : 1' "$TMP/counters.out" &&
		grep -qx '  child-rekey           : 1' "$TMP/counters.out"
}

terminate() { # by the unique id --list-sas shows
	local id
	id=$(swanctl a --list-sas --raw | sed -En 's/^list-sa event \{site \{uniqueid=([0-9]+) .*/\1/p')
	echo "IKE SA #$id"
	[ -n "$id" ] || return 1
	swanctl a --terminate --ike-id "$id" >"$TMP/terminate.out" 2>&1
	local rc=$?
	cat "$TMP/terminate.out"
	[ "$rc" = 0 ] && [ "$(tail -n 1 "$TMP/terminate.out")" = "terminate completed successfully" ] &&
		[ -z "$(swanctl a --list-sas)" ]
}

# a keeps SA views only while a client is registered for SA events: one that registers
# once the SA is up still gets the full SA in its down events
late_listener_sees_down() {
	python3 "$(dirname "$0")/vici-events.py" "$TMP/a/vici" 3 20 ike-updown child-updown \
		>"$TMP/late-events.out" 2>&1 &
	local ev=$! rc _
	for _ in $(seq 50); do
		grep -qx ready "$TMP/late-events.out" 2>/dev/null && break
		sleep 0.1
	done
	swanctl a --terminate --ike site >"$TMP/terminate2.out" 2>&1
	wait "$ev"
	rc=$?
	cat "$TMP/terminate2.out" "$TMP/late-events.out"
	[ "$rc" = 0 ] &&
		grep -Eq '^child-updown \{site \{uniqueid=[0-9]+ .*local-host=[0-9a-f.:]+ .*child-sas \{net-[0-9]+ \{name=net .*state=DELETED .*local-ts=\[10\.1\.' "$TMP/late-events.out" &&
		grep -Eq '^ike-updown \{site \{uniqueid=[0-9]+ version=2 state=DELETING .*remote-host=[0-9a-f.:]+ ' "$TMP/late-events.out"
}

load_starts() { # a connection loaded with start_action = start comes up at once
	sed -i 's/esp_proposals = aes256gcm16/&\n\t\t\t\tstart_action = start/' "$TMP/a/swanctl.conf"
	swanctl a --load-conns --file "$TMP/a/swanctl.conf" >"$TMP/load2.out" 2>&1
	cat "$TMP/load2.out"
	grep -qx "successfully loaded 1 connections, 0 unloaded" "$TMP/load2.out" &&
		wait_log a "site: CHILD SA net up" 10 2 &&
		in1 ping -q -c 1 -W 2 -I 10.1.0.1 10.2.0.1
}

monitor_saw_updown() {
	cat "$TMP/monitor.out"
	# the responder's four events, in order, as charon sends them (vici.md §4.3)
	local events
	events=$(sed -En 's/^(ike|child)-updown event \{(up=yes )?site \{uniqueid=[0-9]+ version=2 state=([A-Z]+) .*/\1 \2\3/p' "$TMP/monitor.out")
	echo "$events"
	[ "$events" = "$(printf 'ike up=yes ESTABLISHED\nchild up=yes ESTABLISHED\nchild up=yes ESTABLISHED\nchild ESTABLISHED\nchild up=yes ESTABLISHED\nchild DELETING\nchild DELETING\nike DELETING')" ] &&
		grep -q '^child-updown event {up=yes site {.*child-sas {net-[0-9]* {name=net .*state=INSTALLED' "$TMP/monitor.out" &&
		grep -q '^child-updown event {site {.*child-sas {net-[0-9]* {name=net .*state=DELETED' "$TMP/monitor.out"
}

[ -x "$VPND" ] || die "no vpnd at $VPND"
[ -x "$SWANCTL" ] || die "no $SWANCTL: run scripts/install-deps (strongswan-swanctl)"
printf 'swanctl {\n\tload = pem\n}\n' >"$TMP/strongswan.conf"
netns_setup_pair vt1 vt2
write_side a
write_side b
conn a 192.0.2.1 192.0.2.2 10.1.0.1/32 10.2.0.1/32 fd01::1/128 fd02::1/128 >"$TMP/a/swanctl.conf"
conn b 192.0.2.2 192.0.2.1 10.2.0.1/32 10.1.0.1/32 fd02::1/128 fd01::1/128 >"$TMP/b/conf.d/site.conf"

start_vpnd b "$NS2"
wait_log b "running" 10 || die "vpnd b did not start"
start_vpnd a "$NS1"
wait_log a "running" 10 || die "vpnd a did not start"
grep -q "IKE on UDP" "$TMP/a.log" && die "vpnd a opened its IKE sockets without a connection"

STRONGSWAN_CONF=$TMP/strongswan.conf timeout -s KILL 60 stdbuf -oL \
	"$SWANCTL" --monitor-sa --raw --uri "unix://$TMP/b/vici" >"$TMP/monitor.out" 2>&1 &
MONITOR=$!
PIDS+=("$MONITOR")
wait_log b "EVENT_REGISTER child-updown: confirmed" 10 ||
	die "swanctl --monitor-sa did not register"

check "a: swanctl --load-all loads the connection and the PSK at run time" load_all
check "a: swanctl --initiate --child net streams control-log and succeeds" initiate
check "a: swanctl --list-sas shows the IKE and CHILD SA, --stats counts it" list_sas_up
check "a: --initiate --child net6 adds a CHILD SA to the IKE SA that is up, --terminate --child net6 deletes only it" second_child
check "b: swanctl --list-sas shows the responder's SA" responder_listed
check "a: a ping is counted in --list-sas (packets-in/out=3)" traffic_counted
python3 "$(dirname "$0")/vici-events.py" "$TMP/b/vici" 2 20 ike-rekey child-rekey \
	>"$TMP/rekey-events.out" 2>&1 &
EVENTS=$!
PIDS+=("$EVENTS")
for _ in $(seq 50); do
	grep -qx ready "$TMP/rekey-events.out" 2>/dev/null && break
	sleep 0.1
done
check "a: swanctl --rekey --child net, then --rekey --ike site" rekey
check "b: ike-rekey and child-rekey events (old and new SA)" rekey_events
check "a: swanctl --counters counts the exchanges and rekeyings" counters
check "a: swanctl --terminate --ike-id N, then no SA" terminate
sleep 0.3
kill "$MONITOR" 2>/dev/null
wait "$MONITOR" 2>/dev/null
check "b: swanctl --monitor-sa saw ike-updown and child-updown" monitor_saw_updown
check "a: --load-conns with start_action = start brings the tunnel up" load_starts
check "a: a client registered once the SA is up gets the full SA in its down events" late_listener_sees_down
check "vpnd a stops on SIGTERM with status 0" stop_vpnd a
check "vpnd b stops on SIGTERM with status 0" stop_vpnd b
PIDS=()

netns_test_end
