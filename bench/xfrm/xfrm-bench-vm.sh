#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs INSIDE the VM (tests/vm/run-in-vm.sh, started by bench/xfrm/xfrm-bench.sh): the
# time two daemons take to install and to remove N child SAs with their policies in the
# kernel (XFRM), vpnd (kernel-xfrm) against strongSwan's charon (kernel-netlink), in
# the same VM run, alternating, RUNS times each. Prints "METRIC VALUE UNIT" lines.
#   xfrm-bench-vm.sh BUILD_ROOT SOURCE_ROOT N RUNS
#
# One connection of N children (10.1.x.y/32 <-> 10.2.x.y/32, ESP aes256gcm16 without
# PFS) between namespaces A (initiator) and B (responder), both ends the same daemon.
# install: from the initiator's "initiating" log line (daemon start-up excluded) until
# both kernels hold 2N SAs and 3N policies; remove: from the initiator being told to go
# (vpnd: SIGTERM, charon: swanctl --terminate --ike) until both hold none. The kernel
# counts are polled (ip xfrm state/policy count) every 0.1 s: about ±0.2 s under TCG.
set -uo pipefail
BUILD=$1 SRC=$2 N=$3 RUNS=$4
. "$SRC/tests/vm/lib.sh"
CHARON=/usr/lib/ipsec/charon
A=xb-a B=xb-b
R=$(mktemp -d /tmp/xfrm-bench.XXXXXX)
declare -A PID

cleanup() {
	local p
	for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null; done
	ip netns del $A 2>/dev/null
	ip netns del $B 2>/dev/null
	rm -rf "$R"
}
trap cleanup EXIT
die() { echo "xfrm-bench: $*" >&2; tail -n 20 "$R"/*.log "$R"/*/charon.log >&2; exit 1; }
now() { date +%s.%N; }
# HH:MM:SS.mmm of today (a log line) as seconds since the epoch
log_time() { date -d "$(date +%F) $1" +%s.%N; }

children() { # SIDE(1|2) START_ACTION (printf: an exec per child costs 0.1 s under TCG)
	local i o=$((3 - $1))
	for ((i = 0; i < N; i++)); do
		printf 'c%d {\nlocal_ts = 10.%d.%d.%d/32\nremote_ts = 10.%d.%d.%d/32\n' $i $1 \
			$((i / 250)) $((i % 250 + 1)) $o $((i / 250)) $((i % 250 + 1))
		printf 'esp_proposals = aes256gcm16\nstart_action = %s\n}\n' "$2"
	done
}

conf() { # SIDE START_ACTION VERSION_LINE
	local l=192.0.2.$1 r=192.0.2.$((3 - $1))
	cat <<-EOF
		connections {
			bench {
				$3
				local_addrs = $l
				remote_addrs = $r
				proposals = aes256gcm16-prfsha256-curve25519
				local {
					auth = psk
					id = @$l
				}
				remote {
					auth = psk
					id = @$r
				}
				children {
					$(children "$1" "$2")
				}
			}
		}
		secrets {
			ike-bench {
				id-a = @192.0.2.1
				id-b = @192.0.2.2
				secret = "a throwaway key for the benchmark"
			}
		}
	EOF
}

vpnd_conf() { # NAME SIDE START
	mkdir -p "$R/$1/conf.d"
	cat > "$R/$1/vpnd.conf" <<-EOF
		plugins {
			dir = $BUILD/plugins
			load = crypto-gnutls kernel-xfrm auth-psk
		}
		vici {
			socket = unix://$R/$1/vici
		}
		dbus {
			enable = no
		}
		log {
			default = message
		}
		conf_dir = $R/$1/conf.d
	EOF
	conf "$2" "$3" "" > "$R/$1/conf.d/bench.conf"
}

charon_conf() { # NAME SIDE
	vm_strongswan_conf "$R/$1"
	conf "$2" none "version = 2" > "$R/$1/swanctl.conf"
}

count() { # NS state|policy: SAs, or policies in+out+fwd
	local line n=0
	line=$(ip -n "$1" xfrm "$2" count)
	if [ "$2" = state ]; then
		n=${line##* }
	else
		[[ $line =~ IN\ +([0-9]+)\ OUT\ +([0-9]+)\ FWD\ +([0-9]+) ]] &&
			n=$((BASH_REMATCH[1] + BASH_REMATCH[2] + BASH_REMATCH[3]))
	fi
	echo "${n:-0}"
}

# wait_counts SAS POLICIES SECONDS: until both namespaces hold exactly that many
wait_counts() {
	local deadline=$((SECONDS + $3))
	while [ $SECONDS -lt $deadline ]; do
		[ "$(count $A state)" = "$1" ] && [ "$(count $B state)" = "$1" ] &&
			[ "$(count $A policy)" = "$2" ] && [ "$(count $B policy)" = "$2" ] && return 0
		read -rt 0.1 _ <> "$R/nap" || :
	done
	echo "A: $(count $A state) SAs $(count $A policy) policies, B: $(count $B state) $(count $B policy)" >&2
	return 1
}

# ns_empty_at NS: seconds since the epoch when NS held no SA (polled), for the log
ns_empty_at() {
	local deadline=$((SECONDS + 600))
	while [ $SECONDS -lt $deadline ] && [ "$(count "$1" state)" != 0 ]; do
		read -rt 0.1 _ <> "$R/nap" || :
	done
	now
}

wait_line() { # FILE REGEX SECONDS: the first matching line
	local deadline=$((SECONDS + $3)) line
	while [ $SECONDS -lt $deadline ]; do
		line=$(grep -m1 -E "$2" "$1" 2>/dev/null) && { echo "$line"; return 0; }
		read -rt 0.1 _ <> "$R/nap" || :
	done
	return 1
}

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

run_vpnd() {
	local t0 t1 t2 t3 ta line
	rm -f "$R"/va.log "$R"/vb.log
	ip netns exec $B "$BUILD/daemon/vpnd" --config "$R/vb/vpnd.conf" > "$R/vb.log" 2>&1 &
	PID[vb]=$!
	wait_line "$R/vb.log" running 30 > /dev/null || die "vpnd B did not start"
	ip netns exec $A "$BUILD/daemon/vpnd" --config "$R/va/vpnd.conf" > "$R/va.log" 2>&1 &
	PID[va]=$!
	line=$(wait_line "$R/va.log" "initiating IKE SA" 30) || die "vpnd A did not initiate"
	t0=$(log_time "${line%% *}")
	wait_counts $((2 * N)) $((3 * N)) 600 || die "vpnd: not all $N children installed"
	t1=$(now)
	t2=$(now)
	kill -TERM "${PID[va]}"
	ta=$(ns_empty_at $A)
	wait_counts 0 0 600 || die "vpnd: children left after SIGTERM"
	t3=$(now)
	echo "#     vpnd remove: initiator's SAs gone after $(elapsed "$t2" "$ta") s" >&2
	wait "${PID[va]}"
	kill -TERM "${PID[vb]}"
	wait "${PID[vb]}"
	unset "PID[va]" "PID[vb]"
	echo "$(elapsed "$t0" "$t1") $(elapsed "$t2" "$t3")"
}

swanctl_at() { # NAME ARGS...
	local n=$1
	shift
	STRONGSWAN_CONF=$R/$n/strongswan.conf swanctl "$@" --uri "unix://$R/$n/vici"
}

start_charon() { # NAME NS
	local i
	STRONGSWAN_CONF=$R/$1/strongswan.conf ip netns exec "$2" unshare --mount \
		--propagation private -- sh -c 'mount -t tmpfs -o size=4m xb-run /run && exec "$0"' \
		"$CHARON" > "$R/$1.stdout" 2>&1 < /dev/null &
	PID[$1]=$!
	for ((i = 0; i < 300; i++)); do
		[ -S "$R/$1/vici" ] && swanctl_at "$1" --version > /dev/null 2>&1 && return 0
		read -rt 0.1 _ <> "$R/nap" || :
	done
	die "charon $1 did not start"
}

run_charon() {
	local t0 t1 t2 t3 ta line
	rm -f "$R"/ca/charon.log "$R"/cb/charon.log
	start_charon cb $B
	start_charon ca $A
	swanctl_at cb --load-all --file "$R/cb/swanctl.conf" > /dev/null 2>&1 || die "load cb"
	# the initiator's children with start_action = start: loading starts them
	sed -i 's/start_action = none/start_action = start/' "$R/ca/swanctl.conf"
	swanctl_at ca --load-all --file "$R/ca/swanctl.conf" > /dev/null 2>&1 || die "load ca"
	line=$(wait_line "$R/ca/charon.log" "initiating IKE_SA" 30) || die "charon A did not initiate"
	t0=$(log_time "${line%% *}")
	wait_counts $((2 * N)) $((3 * N)) 600 || die "charon: not all $N children installed"
	t1=$(now)
	t2=$(now)
	swanctl_at ca --terminate --ike bench --timeout 600 > /dev/null 2>&1 &
	ta=$(ns_empty_at $A)
	wait_counts 0 0 600 || die "charon: children left after terminate"
	t3=$(now)
	wait $!
	echo "#     charon remove: initiator's SAs gone after $(elapsed "$t2" "$ta") s" >&2
	kill -TERM "${PID[ca]}" "${PID[cb]}"
	wait "${PID[ca]}" "${PID[cb]}"
	unset "PID[ca]" "PID[cb]"
	sed -i 's/start_action = start/start_action = none/' "$R/ca/swanctl.conf"
	echo "$(elapsed "$t0" "$t1") $(elapsed "$t2" "$t3")"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

mkfifo "$R/nap"
vm_netns_pair $A $B || die "namespaces"
# the ESP and GCM modules load with the first such SA (seconds under TCG): not timed
ip -n $A -batch - <<-EOF > /dev/null 2>&1
	xfrm state add src 192.0.2.9 dst 192.0.2.8 proto esp spi 1 mode tunnel aead rfc4106(gcm(aes)) 0x0000000000000000000000000000000000000000000000000000000000000000000000 128
	xfrm state flush
EOF
vpnd_conf va 1 start
vpnd_conf vb 2 none
charon_conf ca 1
charon_conf cb 2
echo "# $N child SAs (2N SAs, 3N policies per side), $RUNS runs each, alternating; seconds"
echo "# per run: daemon install remove"
: > "$R/vpnd.times"
: > "$R/charon.times"
for ((run = 1; run <= RUNS; run++)); do
	v=$(run_vpnd) || exit 1
	echo "#   vpnd   $v"
	echo "$v" >> "$R/vpnd.times"
	c=$(run_charon) || exit 1
	echo "#   charon $c"
	echo "$c" >> "$R/charon.times"
done
vi=$(cut -d' ' -f1 "$R/vpnd.times" | median)
vr=$(cut -d' ' -f2 "$R/vpnd.times" | median)
ci=$(cut -d' ' -f1 "$R/charon.times" | median)
cr=$(cut -d' ' -f2 "$R/charon.times" | median)
echo "xfrm_vpnd_install_${N}_children $vi s"
echo "xfrm_vpnd_remove_${N}_children $vr s"
echo "xfrm_charon_install_${N}_children $ci s"
echo "xfrm_charon_remove_${N}_children $cr s"
awk -v v="$vi" -v c="$ci" 'BEGIN { printf "xfrm_install_charon_over_vpnd %.2f x\n", c / v }'
awk -v v="$vr" -v c="$cr" 'BEGIN { printf "xfrm_remove_charon_over_vpnd %.2f x\n", c / v }'
