#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Registers VICI events and prints each one as it comes, until COUNT arrived or
SECONDS passed (for events swanctl has no command for, e.g. ike-rekey).

usage: vici-events.py SOCKET COUNT SECONDS EVENT...
Output: "ready" once every registration is confirmed, then one line per event:
NAME {key=value section {…} list=[a b]}, in swanctl --raw's compact form.
"""
import socket
import struct
import sys
import time

EVENT_REGISTER, EVENT_CONFIRM, EVENT = 3, 5, 7


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("the server closed the connection")
        data += chunk
    return data


def read_packet(sock):
    (length,) = struct.unpack("!I", read_exact(sock, 4))
    return read_exact(sock, length)


def name_at(data, at):
    n = data[at]
    return data[at + 1:at + 1 + n].decode(), at + 1 + n


def value_at(data, at):
    (n,) = struct.unpack("!H", data[at:at + 2])
    return data[at + 2:at + 2 + n].decode(errors="replace"), at + 2 + n


def compact(data):
    """The message as swanctl --raw prints it."""
    out, at, first = [], 0, True
    while at < len(data):
        kind, at = data[at], at + 1
        sep = "" if first else " "
        first = kind in (1, 4)
        if kind == 1:
            name, at = name_at(data, at)
            out.append(sep + name + " {")
        elif kind == 2:
            out.append("}")
            first = False
        elif kind == 3:
            name, at = name_at(data, at)
            value, at = value_at(data, at)
            out.append(sep + name + "=" + value)
        elif kind == 4:
            name, at = name_at(data, at)
            out.append(sep + name + "=[")
        elif kind == 5:
            value, at = value_at(data, at)
            out.append(sep + value)
        elif kind == 6:
            out.append("]")
            first = False
        else:
            raise ValueError("element type %d" % kind)
    return "{" + "".join(out) + "}"


def main():
    path, count, seconds, events = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    for name in events:
        sock.sendall(struct.pack("!IBB", 2 + len(name), EVENT_REGISTER, len(name)) + name.encode())
        if read_packet(sock)[0] != EVENT_CONFIRM:
            sys.exit("registering %s was refused" % name)
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    seen = 0
    while seen < count and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            packet = read_packet(sock)
        except socket.timeout:
            break
        if packet[0] != EVENT:
            continue
        name, at = name_at(packet, 1)
        print(name, compact(packet[at:]), flush=True)
        seen += 1
    sys.exit(0 if seen >= count else 1)


if __name__ == "__main__":
    main()
