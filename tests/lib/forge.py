# SPDX-License-Identifier: LGPL-2.1-or-later
# forge.py DST HEXPAYLOAD MODE: sends one forged ESP-in-UDP datagram to DST:4500, made
# from a captured one (HEXPAYLOAD, the UDP payload). MODE: unknown-spi (an SPI nobody
# uses), replay (the datagram as it was), flip-icv (a later sequence number, so the
# replay window lets it through, and one ICV bit flipped), truncated (12 bytes).
import os, socket, struct, sys

dst, payload, mode = sys.argv[1], bytearray(bytes.fromhex(sys.argv[2])), sys.argv[3]
if mode == "unknown-spi":
    data = struct.pack("!II", 0x999, 1) + os.urandom(64)
elif mode == "replay":
    data = bytes(payload)
elif mode == "flip-icv":
    seq = struct.unpack("!I", payload[4:8])[0]
    payload[4:8] = struct.pack("!I", seq + 1000)
    payload[-1] ^= 1
    data = bytes(payload)
elif mode == "truncated":
    data = bytes(payload[:12])
else:
    sys.exit("unknown mode " + mode)
family = socket.AF_INET6 if ":" in dst else socket.AF_INET
socket.socket(family, socket.SOCK_DGRAM).sendto(data, (dst, 4500))
