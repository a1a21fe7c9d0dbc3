#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# kernel-tun between two network namespaces joined by a veth pair (192.0.2.1/.2 and
# 2001:db8::1/::2 outside; 10.1.0.1, fd01::1 and 10.2.0.1, fd02::1 inside, on lo).
# tun-peer is one tunnel end in each (real plugins, fixed keys, no IKE). Checked:
# ping crosses both ways, IPv4 and IPv6 inside and outside; the veth carries only
# UDP 4500 between the outer addresses; forged ESP (unknown SPI, flipped ICV bit,
# replay, truncated) is dropped and counted, and so is an authentic packet its SA may
# not carry; a rekey hands over; a NAT rebinding is reported and followed; deleting an
# SA stops the traffic; lifetimes expire; get_spi and query_sa.
# Needs root (exit 77 otherwise) and python3 for the packet socket and the forgeries.
set -u

if [ "$(id -u)" != 0 ]; then
	echo "not root: skipped"
	exit 77
fi

BUILD=${VPND_BUILD_ROOT:?}
PEER=$BUILD/tests/integration/tun-peer
export VPND_PLUGIN_BUILDDIR=${VPND_PLUGIN_BUILDDIR:-$BUILD/plugins}
NS1=vpnd-kt1-$$
NS2=vpnd-kt2-$$
TMP=$(mktemp -d /tmp/vpnd-kt.XXXXXX)
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
	for f in "$TMP"/*.out "$TMP"/*.err; do
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
	ip link add kt1 netns "$NS1" type veth peer name kt2 netns "$NS2" || die "no veth"
	in1 ip addr add 192.0.2.1/24 dev kt1
	in2 ip addr add 192.0.2.2/24 dev kt2
	in1 ip addr add 2001:db8::1/64 dev kt1 nodad
	in2 ip addr add 2001:db8::2/64 dev kt2 nodad
	in1 ip addr add 10.1.0.1/32 dev lo
	in1 ip addr add 10.1.5.1/32 dev lo
	in2 ip addr add 10.2.0.1/32 dev lo
	in1 ip addr add fd01::1/128 dev lo
	in2 ip addr add fd02::1/128 dev lo
	for ns in "$NS1" "$NS2"; do
		ip -n "$ns" link set lo up
	done
	in1 ip link set kt1 up
	in2 ip link set kt2 up
}

# start_peer NAME NS ARGS…: tun-peer reading commands from a FIFO (fd in FD_NAME)
start_peer() {
	local name=$1 ns=$2
	shift 2
	mkfifo "$TMP/$name.ctl"
	# In the sanitizer build LeakSanitizer's own tracer has crashed (SIGSEGV in its
	# stop-the-world step) at tun-peer's exit on a loaded machine, failing a clean run;
	# leaks stay checked for the plugin's table code by the unit tests, and ASan/UBSan
	# still check every access here.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		ip netns exec "$ns" "$PEER" "$@" <"$TMP/$name.ctl" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	PIDS+=($!)
	eval "pid_$name=$!"
	eval "exec {fd_$name}>\"$TMP/$name.ctl\""
	for _ in $(seq 100); do
		grep -q '^ready' "$TMP/$name.out" 2>/dev/null && return 0
		kill -0 "${PIDS[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	die "tun-peer $name did not start"
}

# stop_peer NAME: quits it; it must exit 0 with no sanitizer report (ASan builds)
stop_peer() {
	local name=$1 fd pid rc
	eval "fd=\$fd_$name pid=\$pid_$name"
	echo quit >&"$fd"
	eval "exec {fd_$name}>&-"
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] && ! grep -Eq 'Sanitizer|runtime error|CRITICAL|WARNING' "$TMP/$name.err" || {
		echo "tun-peer $name exited with $rc"
		cat "$TMP/$name.err"
		return 1
	}
}

# command NAME CMD: sends CMD and waits for its "end"; the answer is in $TMP/NAME.last
command() {
	local name=$1 cmd=$2 fd before
	eval "fd=\$fd_$name"
	before=$(grep -c '^end$' "$TMP/$name.out")
	echo "$cmd" >&"$fd"
	for _ in $(seq 100); do
		if [ "$(grep -c '^end$' "$TMP/$name.out")" -gt "$before" ]; then
			awk -v n="$before" '/^end$/ { seen++; next } seen == n' "$TMP/$name.out" \
				>"$TMP/$name.last"
			return 0
		fi
		sleep 0.05
	done
	die "tun-peer $name did not answer $cmd"
}

counter() { # NAME KEY: the value in the last stats answer
	awk -v k="$2" '$1 == "counter" && $2 == k { print $3 }' "$TMP/$1.last"
}

counter_is() { # NAME KEY EXPECTED
	local got
	got=$(counter "$1" "$2")
	[ "$got" = "$3" ] || { echo "$1 $2 = '$got', expected $3"; return 1; }
}

counter_above() { # NAME KEY MIN
	local got
	got=$(counter "$1" "$2")
	[ -n "$got" ] && [ "$got" -gt "$3" ] || { echo "$1 $2 = '$got', expected > $3"; return 1; }
}

pings() { # NS SRC DST
	ip netns exec "$1" ping -q -c 3 -i 0.2 -W 2 -I "$2" "$3"
}

no_ping() { # NS SRC DST: not one reply
	! ip netns exec "$1" ping -q -c 2 -i 0.2 -W 1 -I "$2" "$3"
}

# capture IFACE OUTFILE: a packet socket in NS2 sorting what crosses the veth, until TERM
start_capture() {
	ip netns exec "$NS2" python3 - "$1" "$2" <<'PY' &
import errno, signal, socket, struct, sys, time
iface, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((iface, 0))
s.settimeout(0.1)
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
counts = {"esp": 0, "nd": 0, "other": 0, "icmp-echo": 0, "inner": 0}
last = {}
others = []
inner = (b"\x0a\x01", b"\x0a\x02", b"\xfd\x01", b"\xfd\x02")
deadline = time.time() + 60
while not stop and time.time() < deadline:
    try:
        frame = s.recv(65535)
    except socket.timeout:
        continue
    except OSError as e:  # ENETDOWN is reported once after a link change: go on
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
    if src[:2] in inner or dst[:2] in inner:
        counts["inner"] += 1
    if proto in (1, 58) and l4[0] in (0, 8, 128, 129):
        counts["icmp-echo"] += 1
    if proto == 17 and struct.unpack("!HH", l4[:4]) == (4500, 4500):
        counts["esp"] += 1
        last[dst.hex()] = l4[8:]
    elif (proto == 58 and l4[0] in (133, 134, 135, 136)) or dst[:2] == b"\xff\x02":
        counts["nd"] += 1  # the veth's own neighbour discovery and multicast listening
    else:
        counts["other"] += 1
        others.append("%x %d %s > %s" % (ethertype, proto, src.hex(), dst.hex()))
with open(out + ".tmp", "w") as f:
    for k, v in counts.items():
        f.write("%s %d\n" % (k, v))
    for dst, payload in last.items():
        f.write("last %s %s\n" % (dst, payload.hex()))
    for other in others[:10]:
        f.write("other-packet %s\n" % other)
import os
os.rename(out + ".tmp", out)
PY
	CAPTURE_PID=$!
	PIDS+=($CAPTURE_PID)
	sleep 0.5 # the socket is bound before the traffic starts
}

stop_capture() {
	kill -TERM "$CAPTURE_PID"
	wait "$CAPTURE_PID"
}

captured() { # FILE KEY
	awk -v k="$2" '$1 == k { print $2 }' "$1"
}

capture_clean() { # FILE: ESP seen, nothing else but neighbour discovery
	local esp other inner echo
	esp=$(captured "$1" esp)
	other=$(captured "$1" other)
	inner=$(captured "$1" inner)
	echo=$(captured "$1" icmp-echo)
	echo "esp=$esp other=$other inner=$inner icmp-echo=$echo"
	grep '^other-packet' "$1"
	[ "$esp" -gt 0 ] && [ "$other" = 0 ] && [ "$inner" = 0 ] && [ "$echo" = 0 ]
}

# forge DST HEXPAYLOAD MODE: sends an ESP-in-UDP datagram from NS1 to DST:4500
forge() {
	in1 python3 - "$@" <<'PY'
import os, socket, struct, sys
dst, payload, mode = sys.argv[1], bytearray(bytes.fromhex(sys.argv[2])), sys.argv[3]
if mode == "unknown-spi":
    data = struct.pack("!II", 0x999, 1) + os.urandom(64)
elif mode == "replay":
    data = bytes(payload)
elif mode == "flip-icv":
    seq = struct.unpack("!I", payload[4:8])[0]
    payload[4:8] = struct.pack("!I", seq + 1000)  # right of the window: the ICV decides
    payload[-1] ^= 1
    data = bytes(payload)
elif mode == "truncated":
    data = bytes(payload[:12])
family = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.sendto(data, (dst, 4500))
PY
}

# ---- one scenario: outer family, suite ----------------------------------------------

scenario() { # TAG OUTER1 OUTER2 SUITE [EXTRA-ARG-FOR-NS2-PEER]
	local tag=$1 a=$2 b=$3 suite=$4 cap="$TMP/capture-$1" extra=("${@:5}")
	# NS1 claims 10.1.0.0/16, NS2 accepts only 10.1.0.0/24 from it (the selector check)
	local ts1=(--local-ts 10.1.0.0/16 --local-ts fd01::/64 --remote-ts 10.2.0.0/24 --remote-ts fd02::/64)
	local ts2=(--local-ts 10.2.0.0/24 --local-ts fd02::/64 --remote-ts 10.1.0.0/24 --remote-ts fd01::/64)

	start_peer "a$tag" "$NS1" --local "$a" --remote "$b" --suite "$suite" \
		--spi-in c0000002 --spi-out c0000001 "${ts1[@]}"
	start_peer "b$tag" "$NS2" --local "$b" --remote "$a" --suite "$suite" \
		--spi-in c0000001 --spi-out c0000002 "${ts2[@]}" "${extra[@]}"

	check "$tag: route to the remote subnets on the TUN" \
		bash -c "ip -n $NS1 route show dev vpnd0 | grep -q '^10.2.0.0/24' &&
			 ip -n $NS1 -6 route show dev vpnd0 | grep -q '^fd02::/64'"

	start_capture kt2 "$cap"
	check "$tag: IPv4 ping 10.1.0.1 -> 10.2.0.1" pings "$NS1" 10.1.0.1 10.2.0.1
	check "$tag: IPv4 ping 10.2.0.1 -> 10.1.0.1" pings "$NS2" 10.2.0.1 10.1.0.1
	check "$tag: IPv6 ping fd01::1 -> fd02::1" pings "$NS1" fd01::1 fd02::1
	check "$tag: IPv6 ping fd02::1 -> fd01::1" pings "$NS2" fd02::1 fd01::1
	stop_capture
	check "$tag: the veth carried only UDP 4500 between the outer addresses" capture_clean "$cap"

	command "b$tag" stats
	check "$tag: inbound SA counted the packets" counter_above "b$tag" sa.in.c0000001.packets 5
	check "$tag: outbound SA counted the packets" counter_above "b$tag" sa.out.c0000002.packets 5
	# (the kernel's own IPv6 router and listener messages on the TUN match no policy)
	check "$tag: no drops in normal traffic" bash -c \
		"! awk '\$1 == \"counter\" && \$2 ~ /drops/ && \$2 != \"drops.no-policy\" &&
			\$3 != 0' $TMP/b$tag.last | grep ."

	# the last ESP datagram NS1 sent towards NS2 (keyed by destination address, hex)
	local dst_hex last
	dst_hex=$(python3 -c "import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).packed.hex())" "$b")
	last=$(awk -v d="$dst_hex" '$1 == "last" && $2 == d { print $3 }' "$cap")
	if [ -z "$last" ]; then
		check "$tag: an ESP datagram to replay was captured" false
	else
		forge "$b" "$last" unknown-spi
		forge "$b" "$last" replay
		forge "$b" "$last" flip-icv
		forge "$b" "$last" truncated
		sleep 0.3
		command "b$tag" stats
		check "$tag: unknown SPI dropped and counted" counter_is "b$tag" drops.unknown-spi 1
		check "$tag: replayed packet dropped and counted" \
			counter_is "b$tag" sa.in.c0000001.drops.replayed 1
		check "$tag: flipped ICV bit dropped and counted" \
			counter_is "b$tag" sa.in.c0000001.drops.auth 1
		check "$tag: truncated ESP dropped and counted" \
			counter_is "b$tag" sa.in.c0000001.drops.malformed 1
		check "$tag: the tunnel still works after the forgeries" \
			pings "$NS1" 10.1.0.1 10.2.0.1
		command "b$tag" "query in"
		check "$tag: query_sa: packets, last use and the three drops" \
			awk '$1 == "bytes" { ok = $2 > 0 && $4 > 5 && $6 >= 0 && $6 < 60 && $8 == 3 }
			     END { exit !ok }' "$TMP/b$tag.last"
	fi

	check "$tag: a packet from outside the SA's selectors gets no answer" \
		no_ping "$NS1" 10.1.5.1 10.2.0.1
	command "b$tag" stats
	check "$tag: ... and was dropped after decryption" \
		counter_is "b$tag" sa.in.c0000001.drops.selector 2
	check "$tag: ... and counted as a selector drop" counter_is "b$tag" drops.selector 2

	# rekey: new SAs take over, the old ones go, the shared routes stay
	command "b$tag" "rekey c0000011 c0000012"
	command "a$tag" "rekey c0000012 c0000011"
	check "$tag: rekey: both ends installed the new SAs" \
		bash -c "grep -qx ok $TMP/a$tag.last && grep -qx ok $TMP/b$tag.last"
	check "$tag: rekey: traffic crosses" pings "$NS1" 10.1.0.1 10.2.0.1
	command "b$tag" stats
	check "$tag: rekey: ... on the new SA" counter_is "b$tag" sa.in.c0000011.packets 3
	command "a$tag" del-old
	command "b$tag" del-old
	check "$tag: rekey: old SAs deleted" \
		bash -c "grep -qx ok $TMP/a$tag.last && grep -qx ok $TMP/b$tag.last"
	check "$tag: rekey: the routes stay" \
		bash -c "ip -n $NS1 route show dev vpnd0 | grep -q '^10.2.0.0/24'"
	check "$tag: rekey: traffic still crosses" pings "$NS2" 10.2.0.1 10.1.0.1

	# NS1's end moves to port 4600 (a NAT rebinding): NS2 reports it and follows
	command "a$tag" "rebind 4600"
	check "$tag: mapping: traffic from the new port arrives" pings "$NS1" 10.1.0.1 10.2.0.1
	check "$tag: mapping: reported once, and both SAs follow" bash -c "
		[ \$(grep -c '^event mapping c0000011 $a 4600\$' $TMP/b$tag.out) = 1 ] &&
		grep -qx 'event updated' $TMP/b$tag.out"
	check "$tag: mapping: traffic to the new port arrives" pings "$NS2" 10.2.0.1 10.1.0.1

	command "a$tag" "get-spi 2000"
	check "$tag: get_spi: 2000 distinct SPIs, none reserved or in use" \
		awk '$1 == "spi" { n++; if (seen[$2]++ || $2 ~ /^000000/ ||
			$2 == "c0000012") bad++ }
		     END { exit !(n == 2000 && !bad) }' "$TMP/a$tag.last"

	command "a$tag" "del-sa out"
	check "$tag: outbound SA deleted" grep -qx ok "$TMP/a$tag.last"
	check "$tag: no traffic without the SA" no_ping "$NS1" 10.1.0.1 10.2.0.1
	check "$tag: its routes are gone" \
		bash -c "! ip -n $NS1 route show dev vpnd0 | grep -q '^10.2.0.0/24'"
	command "b$tag" stats
	check "$tag: nothing reached the peer after the delete" \
		counter_is "b$tag" drops.unknown-spi 1

	check "$tag: tun-peer a exits cleanly" stop_peer "a$tag"
	check "$tag: tun-peer b exits cleanly" stop_peer "b$tag"
	for _ in $(seq 50); do
		ip -n "$NS1" link show vpnd0 >/dev/null 2>&1 ||
			ip -n "$NS2" link show vpnd0 >/dev/null 2>&1 || break
		sleep 0.1
	done
	check "$tag: the TUN devices are gone after close" \
		bash -c "! ip -n $NS1 link show vpnd0 2>/dev/null && ! ip -n $NS2 link show vpnd0 2>/dev/null"
}

# soft and hard packet limits on NS1's outbound SA: events, then no more traffic
lifetime() {
	start_peer alife "$NS1" --local 192.0.2.1 --remote 192.0.2.2 --spi-in c0000002 \
		--spi-out c0000001 --local-ts 10.1.0.0/24 --remote-ts 10.2.0.0/24 \
		--soft-packets 3 --hard-packets 6
	start_peer blife "$NS2" --local 192.0.2.2 --remote 192.0.2.1 --spi-in c0000001 \
		--spi-out c0000002 --local-ts 10.2.0.0/24 --remote-ts 10.1.0.0/24
	ip netns exec "$NS1" ping -q -c 8 -i 0.2 -W 1 -I 10.1.0.1 10.2.0.1 >"$TMP/life-ping" 2>&1
	check "lifetime: six packets crossed, then none" grep -q '8 packets transmitted, 6 received' \
		"$TMP/life-ping"
	check "lifetime: soft expiry reported once" \
		bash -c "[ \$(grep -c '^event expire soft c0000001' $TMP/alife.out) = 1 ]"
	check "lifetime: hard expiry reported once" \
		bash -c "[ \$(grep -c '^event expire hard c0000001' $TMP/alife.out) = 1 ]"
	command alife "query out"
	check "lifetime: the hard-expired SA is gone" grep -q '^error' "$TMP/alife.last"
	check "lifetime: its route is gone" \
		bash -c "! ip -n $NS1 route show dev vpnd0 | grep -q '^10.2.0.0/24'"
	check "lifetime: tun-peer a exits cleanly" stop_peer alife
	check "lifetime: tun-peer b exits cleanly" stop_peer blife
}

setup_namespaces
scenario v4_gcm 192.0.2.1 192.0.2.2 aes256gcm16
# NS2's end sends through the socket given to enable_udp_encap() instead of send_esp
scenario v6_cbc 2001:db8::1 2001:db8::2 aes128-sha256 --encap-fd
lifetime
echo "1..$N"
[ "$FAILED" = 0 ] || dump_logs
exit $FAILED
