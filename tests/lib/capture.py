# SPDX-License-Identifier: LGPL-2.1-or-later
# capture.py IFACE OUTFILE OUTER-ADDR...: a packet socket on IFACE sorting what crosses
# it until SIGTERM (or 120 s), for the netns tests (tests/lib/netns.sh). OUTFILE gets
# "KEY COUNT" lines (ike500, ike4500, esp: UDP 500/500 or 4500/4500 between two of the
# OUTER-ADDRs; nd: the link's own neighbour discovery and multicast listening; other;
# inner: a packet from or to an inner test prefix; icmp-echo), "last DST-HEX PAYLOAD-HEX"
# with the last ESP datagram (UDP payload) towards each destination, and up to ten
# "other-packet" lines. OUTFILE.ready appears once the socket is bound.
import errno, ipaddress, os, signal, socket, struct, sys, time

iface, out = sys.argv[1], sys.argv[2]
outer = {ipaddress.ip_address(a).packed for a in sys.argv[3:]}
inner = (b"\x0a\x01", b"\x0a\x02", b"\xfd\x01", b"\xfd\x02")
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((iface, 0))
s.settimeout(0.1)
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
counts = {k: 0 for k in ("ike500", "ike4500", "esp", "nd", "other", "inner", "icmp-echo")}
last = {}
others = []
open(out + ".ready", "w").close()
deadline = time.time() + 120
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
    if proto in (1, 58) and l4[:1] in (b"\x00", b"\x08", b"\x80", b"\x81"):
        counts["icmp-echo"] += 1
    ports = struct.unpack("!HH", l4[:4]) if proto == 17 else None
    between_outer = src in outer and dst in outer
    if between_outer and ports == (500, 500):
        counts["ike500"] += 1
    elif between_outer and ports == (4500, 4500) and l4[8:12] == b"\0\0\0\0":
        counts["ike4500"] += 1
    elif between_outer and ports == (4500, 4500):
        counts["esp"] += 1
        last[dst.hex()] = l4[8:]
    elif (proto == 58 and l4[:1] and l4[0] in (133, 134, 135, 136, 143)) or dst[:2] == b"\xff\x02":
        counts["nd"] += 1
    else:
        counts["other"] += 1
        others.append("%x %d %s > %s" % (ethertype, proto, src.hex(), dst.hex()))
with open(out + ".tmp", "w") as f:
    for k, v in counts.items():
        f.write("%s %d\n" % (k, v))
    for d, payload in last.items():
        f.write("last %s %s\n" % (d, payload.hex()))
    for other in others[:10]:
        f.write("other-packet %s\n" % other)
os.rename(out + ".tmp", out)
