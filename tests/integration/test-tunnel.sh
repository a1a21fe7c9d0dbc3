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
# counter's name and value), and the tunnel still works after; 8 MB of TCP cross
# intact each way, through the TUN offloads (large segments on both TUN devices);
# SIGTERM on one side sends Delete: the other side removes its SAs and routes and
# traffic stops, checked from each side in turn; both daemons exit 0.
# Needs root (exit 77 otherwise) and python3 for the packet socket and the forgeries.
set -u

# shellcheck source=tests/lib/netns.sh
. "$(dirname "$0")/../lib/netns.sh"
# shellcheck source=tests/lib/vpnd.sh
. "$(dirname "$0")/../lib/vpnd.sh"
netns_test_setup tt
# python3 comes with scripts/install-deps: its absence is a broken setup, not a skip
command -v python3 >/dev/null || { echo "python3 missing: run scripts/install-deps" >&2; exit 1; }

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
	vpnd_conf "$1" "knl = debug"
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

log_lines() { # NAME: how long its log is now
	wc -l <"$TMP/$1.log"
}

REMOVED='SA [0-9a-f]* \(in\|out\) removed'

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

# tcp_transfer FROM_NS SRC DST: 8 MB over TCP from SRC (in FROM_NS) to DST port 5001
# (in the other namespace) through the tunnel; the receiver's SHA-256 must match. Large
# enough for the TUN offloads: the sender's kernel hands vpnd TSO segments, which it
# cuts; the receiving vpnd joins the decrypted packets back (GRO).
tcp_transfer() {
	local from=$1 ns_to out=$TMP/transfer.out
	if [ "$from" = "$NS1" ]; then ns_to=$NS2; else ns_to=$NS1; fi
	rm -f "$out" "$out.ready"
	ip netns exec "$ns_to" python3 - "$3" "$out" <<'PY2' &
import hashlib, socket, sys
dst, out = sys.argv[1], sys.argv[2]
family = socket.AF_INET6 if ":" in dst else socket.AF_INET
srv = socket.socket(family, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((dst, 5001))
srv.listen(1)
srv.settimeout(20)
open(out + ".ready", "w").close()
conn, _ = srv.accept()
conn.settimeout(20)
h, n = hashlib.sha256(), 0
while True:
    data = conn.recv(1 << 16)
    if not data:
        break
    h.update(data)
    n += len(data)
open(out, "w").write("%d %s\n" % (n, h.hexdigest()))
PY2
	local rx=$!
	PIDS+=("$rx")
	for _ in $(seq 50); do
		[ -e "$out.ready" ] && break
		sleep 0.1
	done
	local want
	want=$(ip netns exec "$from" python3 - "$2" "$3" <<'PY2'
import hashlib, socket, sys
src, dst = sys.argv[1], sys.argv[2]
family = socket.AF_INET6 if ":" in dst else socket.AF_INET
block = hashlib.sha512(b"vpnd").digest() * 1024  # 64 KB
s = socket.socket(family, socket.SOCK_STREAM)
s.settimeout(20)
s.bind((src, 0))
s.connect((dst, 5001))
h = hashlib.sha256()
for i in range(128):  # 8 MB
    chunk = bytes([i]) + block[1:]
    s.sendall(chunk)
    h.update(chunk)
s.close()
print("%d %s" % (128 * len(block), h.hexdigest()))
PY2
	)
	wait "$rx"
	echo "sent $want, received $(cat "$out" 2>/dev/null)"
	[ -n "$want" ] && [ "$want" = "$(cat "$out" 2>/dev/null)" ]
}

# tun_packets NS rx|tx: packets the NS's TUN device counted
tun_packets() {
	ip -n "$1" -s link show vpnd0 | awk -v d="${2^^}:" '$1 == d { getline; print $2; exit }'
}

# offloads_used BEFORE_TX BEFORE_RX: during the transfer NS1's TUN handed vpnd fewer
# packets than 8 MB of MSS-sized ones (TSO), and NS2's took fewer (joined: GRO)
offloads_used() {
	local tx rx mss_packets=$((8 * 1024 * 1024 / 1348))
	tx=$(($(tun_packets "$NS1" tx) - $1))
	rx=$(($(tun_packets "$NS2" rx) - $2))
	echo "TUN packets for 8 MB: $tx out of NS1 (TSO), $rx into NS2 (GRO); $mss_packets without"
	[ "$tx" -lt $((mss_packets / 2)) ] && [ "$rx" -lt $((mss_packets / 2)) ]
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

tx0=$(tun_packets "$NS1" tx)
rx0=$(tun_packets "$NS2" rx)
check "8 MB of TCP NS1 -> NS2 inside IPv4 over IPv4 arrive intact" \
	tcp_transfer "$NS1" 10.1.0.1 10.2.0.1
check "... in large segments on both TUN devices (TSO out, GRO in)" offloads_used "$tx0" "$rx0"
check "8 MB of TCP NS2 -> NS1 inside IPv6 over IPv6 arrive intact" \
	tcp_transfer "$NS2" fd02::6 fd01::6

# Delete from NS1's side: vpnd a stops (it sends Delete), b removes all four SAs
b_lines=$(log_lines b)
check "vpnd a stops on SIGTERM with status 0" stop_vpnd a
check "b removed its SAs on a's Delete" wait_log b "$REMOVED" 5 4 "$b_lines"
check "... told by a's Delete" deleted_by_peer b "$b_lines"
check "b removed its routes into the tunnel" \
	bash -c "[ -z \"\$(ip -n $NS2 route show dev vpnd0; ip -n $NS2 -6 route show dev vpnd0 | grep -v '^fe80')\" ]"
check "no traffic from b after the delete" no_pings "$NS2"
# shellcheck disable=SC2154 # pid_b: set by start_vpnd
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

netns_test_end
