#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs INSIDE the VM (tests/vm/run-in-vm.sh): the real vpnd with kernel-xfrm in two
# network namespaces joined by a veth pair, against another vpnd and against
# strongSwan's charon (kernel-netlink), on a kernel that has ESP. Output: TAP.
#   test-vpnd.sh BUILD_ROOT SOURCE_ROOT [all|sanitizer]
# "sanitizer" (sanitizer builds, slower) leaves out the charon and rekey phases.
#
# Namespace A: 192.0.2.1/24, 2001:db8::1/64 on veth va; inner 10.1.0.1/24, 10.1.1.1/24,
# fd00:1::1/64 on dummy dA. B mirrors it with .2/::2 and 10.2.x/fd00:2::. Connections:
# v4 (10.1.0.0/24 <-> 10.2.0.0/24 over IPv4), v6 (fd00:1::/64 <-> fd00:2::/64 over IPv6),
# rb (route-based, 10.1.1.0/24 <-> 10.2.1.0/24 through XFRM interfaces with if_id 42,
# over 192.0.2.11 <-> 192.0.2.12).
# Each phase prints its guest-side duration as a TAP comment.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=$1
SRC=$2
PHASES=${3:-all}
VPND=$BUILD/daemon/vpnd
VPNCTL=$BUILD/cli/vpnctl
PLUGINS=$BUILD/plugins
CHARON=${CHARON:-/usr/lib/ipsec/charon}
A=vpnd-va B=vpnd-vb C=vpnd-vc D=vpnd-vd
R=$(mktemp -d /tmp/vpnd-vm.XXXXXX)
T=0 FAILED=0
declare -A PID
OWNER_MARK=0x1000000 # plugins.kernel-xfrm.owner_mark's default

cleanup() {
	local p
	for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null; done
	ip netns del $A 2>/dev/null
	ip netns del $B 2>/dev/null
	ip netns del $C 2>/dev/null
	ip netns del $D 2>/dev/null
	rm -rf "$R"
}
trap cleanup EXIT

ok() { T=$((T + 1)); echo "ok $T - $*"; }
not_ok() { T=$((T + 1)); FAILED=1; echo "not ok $T - $*"; }
check() { # description command... (the guest seconds it took follow the description)
	local what=$1 t0 t1 result
	shift
	t0=$(uptime_cs)
	if "$@" > "$R/check.log" 2>&1; then result=ok; else result=not_ok; fi
	t1=$(uptime_cs)
	$result "$what ($(((t1 - t0) / 100)).$((((t1 - t0) % 100) / 10)) s)"
	[ $result = ok ] || sed 's/^/# /' "$R/check.log"
}
uptime_s() { local u _; read -r u _ < /proc/uptime; echo "$u"; }
uptime_cs() { local u _; read -r u _ < /proc/uptime; echo $((10#${u/./})); }
PHASE_T0=
phase() { # NAME: ends the previous phase (printing its duration), starts NAME
	local now
	now=$(uptime_s)
	[ -z "$PHASE_T0" ] || echo "# phase '$PHASE': $(awk -v a="$PHASE_T0" -v b="$now" 'BEGIN { printf "%.1f", b - a }') s"
	PHASE=$1 PHASE_T0=$now
}

dump_logs() {
	local f
	for f in "$R"/*.log "$R"/charon/*.log; do
		[ -s "$f" ] || continue
		echo "# --- $f"
		tail -n 60 "$f" | sed 's/^/#   /'
	done
}

setup() {
	vm_netns_pair $A $B || return 1
	# the route-based connection's XFRM interfaces (vpnd adds the routes) and subnets
	ip -n $A -batch - <<-EOF || return 1
		addr add 10.1.1.1/24 dev dA
		link add xfrm42 type xfrm dev va if_id 42
		link set xfrm42 up
	EOF
	ip -n $B -batch - <<-EOF || return 1
		addr add 10.2.1.1/24 dev dB
		link add xfrm42 type xfrm dev vb if_id 42
		link set xfrm42 up
	EOF
	# Under TCG the first SA of an algorithm loads its modules over 9p for seconds,
	# long enough for IKE retransmissions: a throwaway SA of each kind loads them now.
	ip -n $B -batch - <<-EOF > /dev/null 2>&1 &
		xfrm state add src 192.0.2.9 dst 192.0.2.8 proto esp spi 1 mode tunnel aead rfc4106(gcm(aes)) 0x0000000000000000000000000000000000000000000000000000000000000000000000 128
		xfrm state add src 2001:db8::9 dst 2001:db8::8 proto esp spi 1 mode tunnel aead rfc4106(gcm(aes)) 0x0000000000000000000000000000000000000000000000000000000000000000000000 128
		xfrm state flush
	EOF
}

# ---------------------------------------------------------------- configuration

# vpnd_conf NAME DBUS(yes|no) EXTRA_SETTINGS: NAME's vpnd.conf, conf_dir $R/NAME/conf.d
vpnd_conf() {
	local dir=$R/$1
	mkdir -p "$dir/conf.d"
	cat > "$dir/vpnd.conf" <<-EOF
		plugins {
			dir = $PLUGINS
			load = crypto-gnutls kernel-xfrm kernel-tun auth-psk
		}
		vici {
			socket = unix://$dir/vici
		}
		dbus {
			enable = $2
		}
		log {
			default = info
		}
		conf_dir = $dir/conf.d
		${3:-}
	EOF
}

# conn NAME LOCAL REMOTE LOCAL_TS REMOTE_TS START [CHILD_EXTRA] [CONN_EXTRA]
conn() {
	cat <<-EOF
		connections {
			$1 {
				local_addrs = $2
				remote_addrs = $3
				proposals = aes256gcm16-prfsha256-curve25519
				${8:-}
				local {
					auth = psk
					id = @$2
				}
				remote {
					auth = psk
					id = %any
				}
				children {
					$1 {
						local_ts = $4
						remote_ts = $5
						esp_proposals = aes256gcm16
						start_action = $6
						${7:-}
					}
				}
			}
		}
	EOF
}

secrets() {
	cat <<-EOF
		secrets {
			ike-vm {
				id-a = @192.0.2.1
				id-b = @192.0.2.2
				id-c = @2001:db8::1
				id-d = @2001:db8::2
				id-e = @192.0.2.11
				id-f = @192.0.2.12
				id-g = @198.51.100.1
				id-h = @198.51.100.2
				secret = "a throwaway key for the VM test only"
			}
		}
	EOF
}

# site NAME SIDE(a|b) V4_START V6_START RB_START [V6_CONN_EXTRA]: NAME's conf.d with
# v4, v6 and rb (route-based, XFRM interface id 42 both ways)
site() {
	local d=$R/$1/conf.d l4=192.0.2.1 r4=192.0.2.2 l6=2001:db8::1 r6=2001:db8::2 n=1 m=2
	local lr=192.0.2.11 rr=192.0.2.12
	[ "$2" = b ] && { l4=192.0.2.2 r4=192.0.2.1 l6=2001:db8::2 r6=2001:db8::1 n=2 m=1
		lr=192.0.2.12 rr=192.0.2.11; }
	rm -f "$d"/*.conf
	conn v4 $l4 $r4 10.$n.0.0/24 10.$m.0.0/24 "$3" > "$d/v4.conf"
	conn v6 $l6 $r6 fd00:$n::/64 fd00:$m::/64 "$4" "" "${6:-}" > "$d/v6.conf"
	conn rb $lr $rr 10.$n.1.0/24 10.$m.1.0/24 "$5" "if_id_in = 42
		if_id_out = 42" > "$d/rb.conf"
	secrets > "$d/secrets.conf"
}

# ---------------------------------------------------------------- processes

# start_vpnd NAME NS: vpnd in NS, log in $R/NAME.log (appended across restarts)
start_vpnd() {
	echo "=== start $(uptime_s)" >> "$R/$1.log"
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$R/bus ip netns exec "$2" \
		"$VPND" --config "$R/$1/vpnd.conf" >> "$R/$1.log" 2>&1 &
	PID[$1]=$!
}

# stop NAME [SIGNAL]: signal (TERM) and wait, at most 10 s; status in $R/NAME.rc
stop() {
	local p=${PID[$1]:-} i
	[ -n "$p" ] || return 1
	kill -"${2:-TERM}" "$p"
	for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; nap 0.1; done
	kill -0 "$p" 2>/dev/null && { echo "$1 still runs"; kill -9 "$p"; }
	wait "$p"
	echo $? > "$R/$1.rc"
	unset "PID[$1]"
}

# log_count NAME REGEX: lines of NAME's log matching
log_count() {
	local line n=0
	while IFS= read -r line; do [[ $line =~ $2 ]] && n=$((n + 1)); done < "$R/$1.log"
	echo $n
}

# wait_log NAME REGEX COUNT SECONDS: until NAME's log has COUNT lines matching
wait_log() {
	local i
	for ((i = 0; i < $4 * 10; i++)); do
		[ "$(log_count "$1" "$2")" -ge "$3" ] && return 0
		nap 0.1
	done
	echo "$1: no $3 lines matching '$2' after $4 s"
	tail -n 30 "$R/$1.log"
	return 1
}

start_bus() {
	cat > "$R/bus.conf" <<-EOF
		<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
		 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
		<busconfig>
		  <type>system</type>
		  <listen>unix:path=$R/bus</listen>
		  <auth>EXTERNAL</auth>
		  <policy context="default">
		    <allow user="*"/>
		    <allow send_destination="org.freedesktop.DBus"/>
		    <allow send_type="signal"/>
		    <allow send_requested_reply="true" send_type="method_return"/>
		    <allow send_requested_reply="true" send_type="error"/>
		    <allow receive_type="method_call"/>
		    <allow receive_type="method_return"/>
		    <allow receive_type="error"/>
		    <allow receive_type="signal"/>
		  </policy>
		  <include>$SRC/dbus/org.vpnd1.conf</include>
		</busconfig>
	EOF
	dbus-daemon --nofork --config-file="$R/bus.conf" > "$R/dbus.log" 2>&1 &
	PID[bus]=$!
}

vpnctl() { DBUS_SYSTEM_BUS_ADDRESS=unix:path=$R/bus "$VPNCTL" "$@"; }

ping_ok() { # NS SRC DST [COUNT]: all answered; else what the kernel had
	ip netns exec "$1" ping -q -c "${4:-3}" -i 0.2 -W 2 -I "$2" "$3" && return 0
	ip -n "$1" xfrm state
	ip -n "$1" xfrm policy
	ip -n "$1" route
	return 1
}

# ---------------------------------------------------------------- kernel state

# sa_counters NS DST: "BYTES PACKETS" summed over the ESP SAs towards DST
sa_counters() {
	ip -n "$1" -s xfrm state | awk -v dst="$2" '
		/^src / { mine = ($4 == dst) }
		mine && /lifetime current:/ { getline; split($0, f, /[(), ]+/); b += f[2]; p += f[4] }
		END { print b + 0, p + 0 }'
}

# ours NS state|policy: how many entries carry kernel-xfrm's owner mark (mask has the
# bit, value has not)
ours() {
	local line n=0
	while IFS= read -r line; do
		[[ $line =~ mark\ (0x[0-9a-f]+|[0-9]+)/(0x[0-9a-f]+) ]] || continue
		(( (BASH_REMATCH[2] & OWNER_MARK) && !(BASH_REMATCH[1] & OWNER_MARK) )) && n=$((n + 1))
	done < <(ip -n "$1" xfrm "$2")
	echo $n
}

# json_num JSON KEY: a number member of vpnctl --json output
json_num() { [[ $1 =~ \"$2\":\ *([0-9]+) ]] && echo "${BASH_REMATCH[1]}"; }

# vpnd's own view (vpnctl over D-Bus, from kernel-xfrm's query_sa) equals the kernel's
counters_agree() { # CONN LOCAL REMOTE
	local json k_in k_out
	json=$(vpnctl --json status "$1") || return 1
	k_in=$(sa_counters $A "$2")
	k_out=$(sa_counters $A "$3")
	echo "vpnctl: $json"
	echo "kernel in: $k_in, out: $k_out"
	local v_in v_out
	v_in="$(json_num "$json" bytes_in) $(json_num "$json" packets_in)"
	v_out="$(json_num "$json" bytes_out) $(json_num "$json" packets_out)"
	[ "$v_in" = "$k_in" ] && [ "$v_out" = "$k_out" ] && [ "${k_in#* }" -ge 3 ] &&
		[ "${k_out#* }" -ge 3 ]
}

child_up() { # NAME CHILD COUNT SECONDS
	wait_log "$1" "CHILD SA $2 up" "$3" "$4"
}

# ---------------------------------------------------------------- phases

# all four kinds of entries of NS: "STATES_OURS POLICIES_OURS STATES_ALL POLICIES_ALL"
xfrm_census() {
	local all_s all_p
	all_s=$(ip -n "$1" xfrm state | grep -c '^src')
	all_p=$(ip -n "$1" xfrm policy | grep -c 'dir [a-z]* priority')
	echo "$(ours "$1" state) $(ours "$1" policy) $all_s $all_p"
}

expect_census() { # NS "EXPECTED"
	local got
	got=$(xfrm_census "$1")
	echo "$1: ours/all states and policies: $got, expected $2"
	[ "$got" = "$2" ] || { ip -n "$1" xfrm state; ip -n "$1" xfrm policy; return 1; }
}

stopped_cleanly() { # NAME
	stop "$1" && echo "rc $(< "$R/$1.rc")" && [ "$(< "$R/$1.rc")" = 0 ] &&
		! grep -Eq 'CRITICAL|Sanitizer|runtime error' "$R/$1.log"
}

sa_moved() { # NS DST MIN_PACKETS
	local c
	c=$(sa_counters "$1" "$2")
	echo "SAs towards $2 in $1: $c"
	[ "${c#* }" -ge "$3" ]
}

vpnd_pair() {
	phase "vpnd <-> vpnd, kernel-xfrm"
	vpnd_conf a yes
	vpnd_conf b no
	site a a start start start
	site b b none none none
	start_bus
	start_vpnd b $B
	wait_log b "running" 1 20 || return 1
	start_vpnd a $A
	check "vpnd a: kernel-xfrm's ESP probe passes, it serves (kernel-tun loaded too)" \
		wait_log a "kernel provider xfrm \(plugin kernel-xfrm\)" 1 20
	check "vpnd<->vpnd IPv4: CHILD SA up on both sides" child_up b v4 1 20
	check "vpnd<->vpnd IPv6: CHILD SA up on both sides" child_up b v6 1 20
	check "IPv4: ping 10.1.0.1 -> 10.2.0.1 crosses" ping_ok $A 10.1.0.1 10.2.0.1
	check "IPv6: ping fd00:1::1 -> fd00:2::1 crosses" ping_ok $A fd00:1::1 fd00:2::1
	check "IPv4: vpnd's counters (vpnctl status) equal ip -s xfrm state, and moved" \
		counters_agree v4 192.0.2.1 192.0.2.2
	check "IPv6: vpnd's counters (vpnctl status) equal ip -s xfrm state, and moved" \
		counters_agree v6 2001:db8::1 2001:db8::2
	phase "route-based"
	check "route-based: CHILD SA rb up" child_up b rb 1 20
	check "route-based: SAs and policies carry if_id 42" route_based_if_ids
	check "route-based: vpnd routed the remote selectors into xfrm42 (both sides)" \
		routes_into_xfrm42 1
	check "route-based: ping 10.1.1.1 -> 10.2.1.1 crosses through xfrm42" route_based_ping
}

# routes_into_xfrm42 COUNT: A and B each have COUNT routes of kernel-xfrm's (protocol
# 118), to the other side's route-based subnet through xfrm42
routes_into_xfrm42() {
	local a b
	a=$(ip -n $A route show proto 118)
	b=$(ip -n $B route show proto 118)
	echo "A: $a"
	echo "B: $b"
	if [ "$1" = 0 ]; then
		[ -z "$a" ] && [ -z "$b" ]
	else
		[[ $a == "10.2.1.0/24 dev xfrm42 "* ]] && [[ $b == "10.1.1.0/24 dev xfrm42 "* ]]
	fi
}

route_based_if_ids() {
	ip -n $A xfrm state > "$R/rb.state"
	ip -n $A xfrm policy > "$R/rb.policy"
	[ "$(grep -c 'if_id 0x2a' "$R/rb.state")" = 2 ] &&
		[ "$(grep -c 'if_id 0x2a' "$R/rb.policy")" = 3 ] || { cat "$R/rb.state" "$R/rb.policy"; return 1; }
}

link_tx_packets() { # NS DEV
	local line next=0
	while read -r line; do
		if [ $next = 1 ]; then set -- $line; echo "$2"; return; fi
		[[ $line =~ ^TX: ]] && next=1
	done < <(ip -n "$1" -s link show "$2")
}

route_based_ping() {
	local before after
	before=$(link_tx_packets $A xfrm42)
	ping_ok $A 10.1.1.1 10.2.1.1 || return 1
	after=$(link_tx_packets $A xfrm42)
	echo "xfrm42 TX packets: $before -> $after"
	[ $((after - before)) -ge 3 ]
}

# SIGTERM, SIGKILL and restart: only vpnd's own entries go, others stay
restarts() {
	phase "stop, SIGKILL, restart"
	ip -n $A -batch - <<-EOF
		xfrm state add src 192.0.2.1 dst 192.0.2.77 proto esp spi 0x77 mode tunnel enc cbc(aes) 0x00000000000000000000000000000000 auth-trunc hmac(sha256) 0x0000000000000000000000000000000000000000000000000000000000000000 128
		xfrm policy add src 10.9.0.0/24 dst 10.8.0.0/24 dir out tmpl src 192.0.2.1 dst 192.0.2.77 proto esp mode tunnel
	EOF
	check "vpnd a stops on SIGTERM with status 0" stopped_cleanly a
	check "after SIGTERM: no SA or policy of vpnd a left, the foreign SA and policy kept" \
		expect_census $A "0 0 1 1"
	check "after SIGTERM: vpnd a's route into xfrm42 is gone" a_routes 0
	start_vpnd a $A
	check "restarted vpnd a: IPv4, IPv6 and route-based up again" child_up a "(v4|v6|rb)" 6 25
	check "IPv4 ping crosses after the restart" ping_ok $A 10.1.0.1 10.2.0.1
	stop a KILL
	check "after SIGKILL: vpnd a's SAs, policies and route are still in the kernel" \
		expect_census $A "6 9 7 10"
	check "after SIGKILL: the route is still there" a_routes 1
	check "vpnd b stops on SIGTERM with status 0" stopped_cleanly b
	check "after SIGTERM: nothing of vpnd b left" expect_census $B "0 0 0 0"
	phase "trap policies"
	site a a trap trap none
	start_vpnd b $B
	wait_log b "running" 2 20
	start_vpnd a $A
	check "restart after SIGKILL removed the stale SAs and policies" \
		wait_log a "start: removed 6 SAs and 9 policies of kernel-xfrm" 1 20
	check "restart after SIGKILL removed the stale route" a_routes 0
	check "start_action = trap: only the two trap policies, foreign entries untouched" \
		expect_census $A "0 2 1 3"
	check "IPv4: the first packet triggers the negotiation, then the ping crosses" trap_fires \
		10.1.0.1 10.2.0.1 v4 1
	check "IPv6: the first packet triggers the negotiation, then the ping crosses" trap_fires \
		fd00:1::1 fd00:2::1 v6 1
	check "vpnctl down v4: the trap policy is back in the child's place" trap_returns
	check "IPv4: traffic brings the child up again" trap_fires 10.1.0.1 10.2.0.1 v4 2
	check "vpnd a stops on SIGTERM with status 0" stopped_cleanly a
	check "after SIGTERM: no trap or child entry of vpnd a left" expect_census $A "0 0 1 1"
	check "vpnd b stops on SIGTERM with status 0" stopped_cleanly b
}

# the one case of test-kernel-xfrm that needs XFRM interfaces, which the host lacks
route_case() {
	VPND_PLUGIN_BUILDDIR=$PLUGINS "$BUILD/tests/integration/test-kernel-xfrm" --tap \
		-p /kernel-xfrm/policy/route > "$R/route-case.log" 2>&1
	local rc=$?
	cat "$R/route-case.log"
	[ $rc = 0 ] && grep -q '^ok .*/kernel-xfrm/policy/route$' "$R/route-case.log"
}

a_routes() { # COUNT: routes of kernel-xfrm's in A
	ip -n $A route show proto 118 > "$R/a.routes"
	cat "$R/a.routes"
	[ "$(grep -c . "$R/a.routes")" = "$1" ]
}

trap_fires() { # SRC DST CHILD NTH: the NTH trap hit of CHILD brings it up
	local ups hits p up
	ups=$(log_count a "CHILD SA $3 up")
	hits=$(log_count a "traffic for $3 hit its trap policy")
	ip netns exec $A ping -c 50 -i 0.2 -W 1 -I "$1" "$2" > "$R/trap-ping.log" 2>&1 &
	p=$!
	child_up a "$3" $((ups + 1)) 10
	up=$?
	kill -TERM $p # (SIGINT is ignored by background jobs of a script)
	wait $p
	cat "$R/trap-ping.log"
	[ $up = 0 ] && [ "$hits" = $(($4 - 1)) ] &&
		[ "$(log_count a "traffic for $3 hit its trap policy")" = "$4" ] && ping_ok $A "$1" "$2"
}

trap_returns() {
	vpnctl down v4 || return 1
	wait_log a "CHILD SA v4 down" 1 10 || return 1
	# v4's trap again, v6's child (out, in, fwd)
	expect_census $A "2 4 3 5" && ip -n $A xfrm policy | grep -A4 '^src 10.1.0.0/24 dst 10.2.0.0/24' |
		grep -q 'reqid 1073741824'
}

# ---------------------------------------------------------------- charon

charon_conf() {
	local d=$R/charon
	vm_strongswan_conf "$d"
	{
		charon_conn v4 192.0.2.2 192.0.2.1 10.2.0.0/24 10.1.0.0/24 "encap = yes"
		charon_conn v6 2001:db8::2 2001:db8::1 fd00:2::/64 fd00:1::/64
		secrets
	} > "$d/swanctl.conf"
}

charon_conn() { # NAME LOCAL REMOTE LOCAL_TS REMOTE_TS [CONN_EXTRA]
	cat <<-EOF
		connections {
			$1 {
				version = 2
				${6:-}
				local_addrs = $2
				remote_addrs = $3
				proposals = aes256gcm16-prfsha256-curve25519
				local {
					auth = psk
					id = @$2
				}
				remote {
					auth = psk
				}
				children {
					$1 {
						local_ts = $4
						remote_ts = $5
						esp_proposals = aes256gcm16
					}
				}
			}
		}
	EOF
}

swanctl() { STRONGSWAN_CONF=$R/charon/strongswan.conf command swanctl "$@" --uri "unix://$R/charon/vici"; }

start_charon() { # NS
	local i
	STRONGSWAN_CONF=$R/charon/strongswan.conf ip netns exec "$1" "$CHARON" \
		> "$R/charon/stdout.log" 2>&1 < /dev/null &
	PID[charon]=$!
	for ((i = 0; i < 200; i++)); do
		[ -S "$R/charon/vici" ] && swanctl --version > /dev/null 2>&1 && break
		nap 0.1
	done
	swanctl --load-all --file "$R/charon/swanctl.conf" > "$R/charon/load.log" 2>&1
}

encap_in_kernel() { # NS COUNT: COUNT SAs in UDP 4500
	ip -n "$1" xfrm state > "$R/encap.state"
	cat "$R/encap.state"
	[ "$(grep -c 'encap type espinudp sport 4500 dport 4500' "$R/encap.state")" = "$2" ]
}

vpnd_charon() {
	phase "vpnd <-> charon (kernel-netlink)"
	charon_conf
	start_charon $B || { not_ok "charon starts in B"; cat "$R/charon/load.log"; return; }
	vpnd_conf c yes
	site c a none start none "encap = yes"
	start_vpnd c $A
	check "vpnd -> charon, IPv6, ESP in UDP forced by encap = yes: CHILD SA up" \
		child_up c v6 1 20
	check "vpnd -> charon: ping fd00:1::1 -> fd00:2::1 crosses" ping_ok $A fd00:1::1 fd00:2::1
	check "vpnd -> charon: both SAs in UDP 4500 (kernel-xfrm's XFRMA_ENCAP, UDP_ENCAP socket)" \
		encap_in_kernel $A 2
	check "vpnd -> charon: vpnd's counters equal the kernel's, and moved" \
		counters_agree v6 2001:db8::1 2001:db8::2
	check "charon -> vpnd, IPv4, ESP in UDP forced by charon's encap = yes: initiate" \
		swanctl --initiate --child v4 --timeout 20
	check "charon -> vpnd: CHILD SA up at vpnd" child_up c v4 1 5
	check "charon -> vpnd: ping 10.2.0.1 -> 10.1.0.1 crosses" ping_ok $B 10.2.0.1 10.1.0.1
	check "charon -> vpnd: vpnd took the NAT charon pretended, its SAs are in UDP 4500 too" \
		encap_in_kernel $A 4
	check "charon -> vpnd: vpnd's counters equal the kernel's, and moved" \
		counters_agree v4 192.0.2.1 192.0.2.2
	check "vpnd stops on SIGTERM with status 0" stopped_cleanly c
	check "after SIGTERM: nothing of vpnd left next to charon's deletions" \
		expect_census $A "0 0 1 1"
	kill "${PID[charon]}"
	wait "${PID[charon]}"
	unset "PID[charon]"
}

# ---------------------------------------------------------------- rekeying

# Its own pair of namespaces (C: 198.51.100.1 and 10.3.0.1, D: .2 and 10.4.0.1) so that
# it runs alongside the other phases: soft 20 s / hard 30 s lifetimes, a ping every
# 100 ms for 34 s across the rekey.
rekey_start() {
	phase "rekey: set up"
	ip -batch - <<-EOF || return 1
		netns add $C
		netns add $D
		link add vc netns $C type veth peer name vd netns $D
	EOF
	rekey_side 1 2 c | ip -n $C -batch - || return 1
	rekey_side 2 1 d | ip -n $D -batch - || return 1
	local n rk="rekey_time = 20s
		life_time = 30s
		rand_time = 2s"
	for n in rc rd; do vpnd_conf $n no; done
	{ conn rk 198.51.100.1 198.51.100.2 10.3.0.1/32 10.4.0.1/32 start "$rk"; secrets; } \
		> "$R/rc/conf.d/rk.conf"
	{ conn rk 198.51.100.2 198.51.100.1 10.4.0.1/32 10.3.0.1/32 none "$rk"; secrets; } \
		> "$R/rd/conf.d/rk.conf"
	start_vpnd rd $D
	wait_log rd "running" 1 20 || return 1
	start_vpnd rc $C
	REKEY_UP=0
	wait_log rc "CHILD SA rk up" 1 20 || return 1
	ip netns exec $C ping -c 340 -i 0.1 -W 1 -I 10.3.0.1 10.4.0.1 > "$R/rekey-ping.log" 2>&1 &
	PID[rekey_ping]=$!
	REKEY_UP=1
}

rekey_side() { # N M V: side N (peer M) on veth vV: 198.51.100.N, inner 10.(N+2).0.1
	cat <<-EOF
		addr add 198.51.100.$1/24 dev v$3
		addr add 10.$(($1 + 2)).0.1/32 dev lo
		link set lo up
		link set v$3 up
		route add 10.$(($2 + 2)).0.1/32 via 198.51.100.$2 src 10.$(($1 + 2)).0.1
	EOF
}

rekey_lost_at_most_one() {
	wait "${PID[rekey_ping]}"
	unset "PID[rekey_ping]"
	local sent recv line seq=() i missing=
	while IFS= read -r line; do
		[[ $line =~ icmp_seq=([0-9]+) ]] && seq[${BASH_REMATCH[1]}]=1
	done < "$R/rekey-ping.log"
	for ((i = 1; i <= 340; i++)); do [ -n "${seq[$i]:-}" ] || missing+=" $i"; done
	echo "icmp_seq without answer:${missing:- none}"
	grep -E 'transmitted|rtt' "$R/rekey-ping.log"
	[[ $(< "$R/rekey-ping.log") =~ ([0-9]+)\ packets\ transmitted,\ ([0-9]+)\ received ]] ||
		return 1
	sent=${BASH_REMATCH[1]} recv=${BASH_REMATCH[2]}
	[ "$sent" = 340 ] && [ $((sent - recv)) -le 1 ]
}

# the old child's SAs went after the rekey: two SAs (in, out) of vpnd's, both new
rekey_replaced_sas() {
	local line spis=()
	ip -n $C xfrm state > "$R/rekey.state"
	while IFS= read -r line; do
		[[ $line =~ proto\ esp\ spi\ 0x([0-9a-f]+) ]] && spis+=("${BASH_REMATCH[1]}")
	done < "$R/rekey.state"
	echo "SPIs now: ${spis[*]}"
	[ ${#spis[@]} = 2 ] || return 1
	! grep -q "CHILD SA rk up, SPIs ${spis[0]}\|CHILD SA rk up, SPIs ${spis[1]}" "$R/rc.log"
}

rekey_check() {
	phase "rekey: checks"
	if [ "${REKEY_UP:-0}" != 1 ]; then
		not_ok "rekey: CHILD SA with 20 s/30 s lifetimes up"
		return
	fi
	check "rekey: the child was rekeyed before its 30 s life ended (both sides)" \
		wait_log rc "CHILD SA rk rekeyed" 1 1
	check "rekey: the responder saw the same rekey" wait_log rd "CHILD SA rk rekeyed" 1 1
	check "rekey: 340 pings at 100 ms across the rekey, at most one lost" rekey_lost_at_most_one
	grep -E 'transmitted|rtt' "$R/rekey-ping.log" | sed 's/^/# /'
	grep -h -E 'rekeyed|held|now in use|reached its' "$R/rc.log" "$R/rd.log" | sed 's/^/# /'
	check "rekey: the old SAs are gone, the new pair carries the traffic" rekey_replaced_sas
	check "rekey: vpnd rc stops on SIGTERM with status 0" stopped_cleanly rc
	check "rekey: vpnd rd stops on SIGTERM with status 0" stopped_cleanly rd
}

main() {
	mkfifo "$R/nap"
	if ! setup; then
		echo "Bail out! network namespaces, veth and XFRM interfaces"
		exit 1
	fi
	[ "$PHASES" = sanitizer ] || rekey_start
	phase "kernel-xfrm routes"
	check "kernel-xfrm routes into XFRM interfaces (test-kernel-xfrm /kernel-xfrm/policy/route)" \
		route_case
	if [ "$PHASES" = rekey ]; then # (for work on rekeying alone)
		rekey_check
		phase end
		echo "1..$T"
		exit $FAILED
	fi
	vpnd_pair
	restarts
	if [ "$PHASES" != sanitizer ]; then
		vpnd_charon
		rekey_check
	fi
	phase end
	[ "$FAILED" = 0 ] || dump_logs
	echo "1..$T"
	exit $FAILED
}
main
