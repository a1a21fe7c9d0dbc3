#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vpnd <-> vpnd: two network namespaces joined by a veth pair (192.0.2.1 and .2),
# 10.1.0.1 and 10.2.0.1 inside on lo, a vpnd in each with connections from its own
# conf_dir (PSK, curve25519, aes256gcm16; kernel-tun, so ESP in UDP 4500). NS1
# initiates at start-up. Checked: the CHILD SA comes up on both sides, ping crosses
# both ways, the veth carries only UDP 500/4500 between the outer addresses (no inner
# packet in the clear), and both daemons stop on SIGTERM with exit status 0.
# Needs root (exit 77 otherwise) and python3 for the packet socket.
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
NS1=vpnd-tt1-$$
NS2=vpnd-tt2-$$
TMP=$(mktemp -d /tmp/vpnd-tunnel.XXXXXX)
PIDS=()
FAILED=0
N=0

cleanup() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	ip netns del "$NS1" 2>/dev/null
	ip netns del "$NS2" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

in1() { ip netns exec "$NS1" "$@"; }
in2() { ip netns exec "$NS2" "$@"; }

check() { # description, command…
	local what=$1
	shift
	N=$((N + 1))
	if "$@" >"$TMP/check.log" 2>&1; then
		echo "ok $N - $what"
	else
		echo "not ok $N - $what"
		sed 's/^/#   /' "$TMP/check.log"
		FAILED=1
	fi
}

dump_logs() {
	for f in "$TMP"/*.log; do
		[ -s "$f" ] || continue
		echo "# --- $f"
		sed 's/^/#   /' "$f"
	done
}

die() {
	echo "Bail out! $*"
	dump_logs
	exit 1
}

setup_namespaces() {
	ip netns add "$NS1" && ip netns add "$NS2" || die "cannot create namespaces"
	ip link add tt1 netns "$NS1" type veth peer name tt2 netns "$NS2" || die "no veth"
	in1 ip addr add 192.0.2.1/24 dev tt1
	in2 ip addr add 192.0.2.2/24 dev tt2
	in1 ip addr add 10.1.0.1/32 dev lo
	in2 ip addr add 10.2.0.1/32 dev lo
	for ns in "$NS1" "$NS2"; do
		ip -n "$ns" link set lo up
	done
	in1 ip link set tt1 up
	in2 ip link set tt2 up
}

# write_side NAME LOCAL REMOTE LOCAL_TS REMOTE_TS START_ACTION
write_side() {
	local name=$1 dir=$TMP/$1
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
}
conf_dir = $dir/conf.d
CONF
	cat >"$dir/conf.d/site.conf" <<CONF
connections {
	site {
		local_addrs = $2
		remote_addrs = $3
		proposals = aes256gcm16-prfsha256-curve25519
		local {
			auth = psk
			id = $name.example.org
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
				start_action = $6
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

# start_vpnd NAME NS: vpnd in NS, log in $TMP/NAME.log, pid in pid_NAME
start_vpnd() {
	local name=$1 ns=$2
	ip netns exec "$ns" "$VPND" --config "$TMP/$name/vpnd.conf" \
		>"$TMP/$name.log" 2>&1 &
	PIDS+=($!)
	eval "pid_$name=$!"
}

# wait_log NAME PATTERN SECONDS
wait_log() {
	for _ in $(seq $(($3 * 10))); do
		grep -q "$2" "$TMP/$1.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# stop_vpnd NAME: SIGTERM, exit 0 within 5 s, no warning or critical in its log
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

pings() { # NS SRC DST
	ip netns exec "$1" ping -q -c 3 -i 0.2 -W 2 -I "$2" "$3"
}

# capture IFACE OUTFILE: a packet socket in NS2 sorting what crosses the veth, until TERM
start_capture() {
	ip netns exec "$NS2" python3 - "$1" "$2" <<'PY' &
import errno, signal, socket, struct, sys, time, os
iface, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((iface, 0))
s.settimeout(0.1)
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
counts = {"ike500": 0, "ike4500": 0, "esp": 0, "nd": 0, "other": 0, "inner": 0,
          "icmp-echo": 0}
others = []
outer = (bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
open(out + ".ready", "w").close()
deadline = time.time() + 120
while not stop and time.time() < deadline:
    try:
        frame = s.recv(65535)
    except socket.timeout:
        continue
    except OSError as e:
        if e.errno != errno.ENETDOWN:
            raise
        continue
    ethertype = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if ethertype == 0x0800:
        ihl = (ip[0] & 15) * 4
        proto, src, dst, l4 = ip[9], ip[12:16], ip[16:20], ip[ihl:]
    elif ethertype == 0x86DD:
        proto, src, dst, l4 = ip[6], ip[8:24], ip[24:40], ip[40:]
    else:
        continue  # ARP
    if src[:2] in (b"\x0a\x01", b"\x0a\x02") or dst[:2] in (b"\x0a\x01", b"\x0a\x02"):
        counts["inner"] += 1
    if proto in (1, 58) and l4[:1] in (b"\x00", b"\x08", b"\x80", b"\x81"):
        counts["icmp-echo"] += 1
    ports = struct.unpack("!HH", l4[:4]) if proto == 17 else None
    if src in outer and dst in outer and ports == (500, 500):
        counts["ike500"] += 1
    elif src in outer and dst in outer and ports == (4500, 4500):
        counts["ike4500" if l4[8:12] == b"\0\0\0\0" else "esp"] += 1
    elif ethertype == 0x86DD and (proto == 58 or dst[:2] == b"\xff\x02"):
        counts["nd"] += 1  # the veth's own neighbour discovery and multicast listening
    else:
        counts["other"] += 1
        others.append("%x %d %s > %s" % (ethertype, proto, src.hex(), dst.hex()))
with open(out + ".tmp", "w") as f:
    for k, v in counts.items():
        f.write("%s %d\n" % (k, v))
    for other in others[:10]:
        f.write("other-packet %s\n" % other)
os.rename(out + ".tmp", out)
PY
	CAPTURE_PID=$!
	PIDS+=("$CAPTURE_PID")
	for _ in $(seq 50); do
		[ -e "$2.ready" ] && return 0
		sleep 0.1
	done
	die "the capture did not start"
}

stop_capture() {
	kill -TERM "$CAPTURE_PID"
	wait "$CAPTURE_PID"
}

captured() { # FILE KEY
	awk -v k="$2" '$1 == k { print $2 }' "$1"
}

capture_clean() { # FILE: IKE and ESP between the outer addresses, nothing else
	local k
	for k in ike500 ike4500 esp other inner icmp-echo; do
		printf '%s=%s ' "$k" "$(captured "$1" "$k")"
	done
	echo
	grep '^other-packet' "$1"
	[ "$(captured "$1" ike500)" -gt 0 ] && [ "$(captured "$1" esp)" -gt 0 ] &&
		[ "$(captured "$1" other)" = 0 ] && [ "$(captured "$1" inner)" = 0 ] &&
		[ "$(captured "$1" icmp-echo)" = 0 ]
}

[ -x "$VPND" ] || die "no vpnd at $VPND"
setup_namespaces
write_side a 192.0.2.1 192.0.2.2 10.1.0.1/32 10.2.0.1/32 start
write_side b 192.0.2.2 192.0.2.1 10.2.0.1/32 10.1.0.1/32 none
start_capture tt2 "$TMP/capture"

start_vpnd b "$NS2"
wait_log b "running" 10 || die "vpnd b did not start"
start_vpnd a "$NS1"
check "a: CHILD SA up" wait_log a "CHILD SA net up" 20
check "b: CHILD SA up" wait_log b "CHILD SA net up" 5
grep -q "CHILD SA net up" "$TMP/a.log" || die "no tunnel"

check "ping 10.1.0.1 -> 10.2.0.1 through the tunnel" pings "$NS1" 10.1.0.1 10.2.0.1
check "ping 10.2.0.1 -> 10.1.0.1 through the tunnel" pings "$NS2" 10.2.0.1 10.1.0.1
stop_capture
check "the veth carried only UDP 500/4500 between the outer addresses" \
	capture_clean "$TMP/capture"

check "vpnd a stops on SIGTERM with status 0" stop_vpnd a
check "vpnd b stops on SIGTERM with status 0" stop_vpnd b
PIDS=()

[ "$FAILED" = 0 ] && [ -z "${VPND_TEST_VERBOSE:-}" ] || dump_logs
echo "1..$N"
exit "$FAILED"
