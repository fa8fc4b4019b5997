#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Sends one WRITE to a shardd as a client would, and reports its answer.

    shard-write.py HOST PORT POOL VOLUME OBJECT EPOCH WAIT

Connects, says HELLO, and writes 4 KiB of 0xEE at offset 0 of object
OBJECT (order 22) of VOLUME in POOL, stamped with map epoch EPOCH. Prints
"status N epoch E" for the daemon's reply, "closed" when it drops the
connection, or "no reply" after WAIT seconds, and exits 0 (what the
answer must be is the caller's to judge); 2 on bad arguments or when
the daemon cannot be reached. Used to play a client with an old map
against a daemon cut off from the others."""
import socket
import struct
import sys
import time

REQ_MAGIC, REPLY_MAGIC, VERSION = 0x51524453, 0x50524453, 1
OP_HELLO, OP_WRITE = 1, 4


def crc32c(data, crc=0xFFFFFFFF):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def req(op, tag, epoch, pool=0, volume=0, obj=0, payload=b""):
    # magic, version, opcode, flags, len, obj_order, pad[3], tag, epoch,
    # volume, object, offset, pool, data_crc
    hdr = struct.pack("<IBBHIB3xQQQQIII", REQ_MAGIC, VERSION, op, 0,
                      len(payload), 22, tag, epoch, volume, obj, 0, pool,
                      crc32c(payload) if payload else 0)
    return hdr + struct.pack("<I", crc32c(hdr)) + payload


def read_reply(sock, deadline):
    """(status, epoch, payload length), "closed" or None on timeout."""
    buf = b""
    while len(buf) < 64:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            chunk = sock.recv(64 - len(buf))
        except socket.timeout:
            return None
        except (ConnectionResetError, BrokenPipeError):
            return "closed"
        if not chunk:
            return "closed"
        buf += chunk
    magic, _ver, _op, status, length = struct.unpack_from("<IBBxxII", buf)
    if magic != REPLY_MAGIC:
        return "closed"
    epoch = struct.unpack_from("<Q", buf, 24)[0]
    return status, epoch, length


def main():
    if len(sys.argv) != 8:
        print(__doc__, file=sys.stderr)
        return 2
    host, port = sys.argv[1], int(sys.argv[2])
    pool, volume, obj, epoch = (int(x) for x in sys.argv[3:7])
    wait = float(sys.argv[7])
    try:
        sock = socket.create_connection((host, port), timeout=10)
        sock.sendall(req(OP_HELLO, 1, epoch))
        r = read_reply(sock, time.monotonic() + 10)
        if not isinstance(r, tuple) or r[0] != 0:
            print("hello failed:", r, file=sys.stderr)
            return 2
        sock.recv(r[2], socket.MSG_WAITALL)
    except OSError as e:
        print("cannot reach %s:%d: %s" % (host, port, e), file=sys.stderr)
        return 2
    sock.sendall(req(OP_WRITE, 2, epoch, pool, volume, obj, b"\xee" * 4096))
    r = read_reply(sock, time.monotonic() + wait)
    if r is None:
        print("no reply")
    elif r == "closed":
        print("closed")
    else:
        print("status %d epoch %d" % (r[0], r[1]))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
