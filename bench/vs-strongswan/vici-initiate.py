#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Sends one VICI `initiate` for a CHILD_SA and times it: the same request swanctl
--initiate sends, answered by charon and vpnd alike once the child is installed.

usage: vici-initiate.py SOCKET CHILD [PID...]
Prints "SENT ELAPSED [CPU...]": the wall-clock time the request left (seconds since the
epoch, to compare with other clocks on the machine), the milliseconds until the answer,
measured with a monotonic clock, and for each PID the microseconds of CPU time its
threads had meanwhile (schedstat: the kernel's work on their behalf included). Exits 1
if the answer is not success=yes.
"""
import glob
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


def cpu_ns(pid):
    total = 0
    for f in glob.glob("/proc/%d/task/*/schedstat" % pid):
        with open(f) as stat:
            total += int(stat.read().split()[0])
    return total


def main():
    path, child = sys.argv[1], sys.argv[2]
    pids = [int(p) for p in sys.argv[3:]]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    request = packet(CMD_REQUEST, "initiate",
                     key_value("child", child) + key_value("timeout", "10000"))
    cpu0 = [cpu_ns(p) for p in pids]
    sent = time.time()
    start = time.perf_counter()
    sock.sendall(request)
    while True:
        (length,) = struct.unpack("!I", read_exact(sock, 4))
        reply = read_exact(sock, length)
        if reply[0] == CMD_RESPONSE:
            break
    elapsed = (time.perf_counter() - start) * 1000
    cpu = [(cpu_ns(p) - c) // 1000 for p, c in zip(pids, cpu0)]
    print(" ".join(["%.6f %.3f" % (sent, elapsed)] + ["%d" % c for c in cpu]))
    sys.exit(0 if key_value("success", "yes") in reply else 1)


main()
