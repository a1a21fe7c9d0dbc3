#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sends one VICI `initiate` for a CHILD_SA and times it: the same request swanctl
--initiate sends, answered by charon and vpnd alike once the child is installed.

usage: vici-initiate.py SOCKET CHILD
Prints "SENT ELAPSED": the wall-clock time the request left (seconds since the epoch,
to compare with other clocks on the machine) and the milliseconds until the answer,
measured with a monotonic clock. Exits 1 if the answer is not success=yes.
"""
import socket
import struct
import sys
import time

CMD_REQUEST, CMD_RESPONSE, KEY_VALUE = 0, 1, 3


def packet(kind, name, payload=b""):
    body = bytes([kind, len(name)]) + name.encode() + payload
    return struct.pack("!I", len(body)) + body


def key_value(key, value):
    return bytes([KEY_VALUE, len(key)]) + key.encode() + struct.pack("!H", len(value)) + value.encode()


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("the server closed the connection")
        data += chunk
    return data


def main():
    path, child = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    request = packet(CMD_REQUEST, "initiate",
                     key_value("child", child) + key_value("timeout", "10000"))
    sent = time.time()
    start = time.perf_counter()
    sock.sendall(request)
    while True:
        (length,) = struct.unpack("!I", read_exact(sock, 4))
        reply = read_exact(sock, length)
        if reply[0] == CMD_RESPONSE:
            break
    elapsed = (time.perf_counter() - start) * 1000
    print("%.6f %.3f" % (sent, elapsed))
    sys.exit(0 if key_value("success", "yes") in reply else 1)


main()
