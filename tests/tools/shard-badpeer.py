#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Speaks broken shard wire protocol to a daemon and checks its answer.

    shard-badpeer.py HOST PORT CASE

Exit 0 when the daemon did what the protocol says (dropped the connection,
or answered with the expected status), 1 otherwise. Cases: see CASES."""
import socket
import struct
import sys

REQ_MAGIC, REPLY_MAGIC, VERSION = 0x51524453, 0x50524453, 1
OP_HELLO, OP_READ, OP_WRITE = 1, 3, 4
S_BADCRC = 2


def crc32c(data, crc=0xFFFFFFFF):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def req(op, length=0, tag=1, obj=0, off=0, order=22, data_crc=0,
        magic=REQ_MAGIC, version=VERSION, flags=0, bad_crc=False):
    # magic, version, opcode, flags, len, obj_order, pad[3], tag, epoch,
    # volume, object, offset, pool, data_crc
    hdr = struct.pack("<IBBHIB3xQQQQIII", magic, version, op, flags, length,
                      order, tag, 0, 7, obj, off, 1, data_crc)
    crc = crc32c(hdr) ^ (1 if bad_crc else 0)
    return hdr + struct.pack("<I", crc)


def hello():
    return req(OP_HELLO, tag=99)


def closed(sock):
    """True when the daemon closes the connection (after any replies)."""
    sock.settimeout(10)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def read_reply(sock):
    buf = b""
    sock.settimeout(10)
    while len(buf) < 64:
        chunk = sock.recv(64 - len(buf))
        if not chunk:
            return None
        buf += chunk
    magic, _ver, _op, status, length = struct.unpack_from("<IBBxxII", buf)
    if magic != REPLY_MAGIC:
        return None
    tag = struct.unpack_from("<Q", buf, 16)[0]
    return status, length, tag


CASES = {
    "garbage": lambda: bytes(range(256)) * 8,
    "truncated": lambda: hello() + req(OP_READ, 4096)[:20],
    "wrong-magic": lambda: hello() + req(OP_READ, 4096, magic=0xDEADBEEF),
    "bad-version": lambda: hello() + req(OP_READ, 4096, version=9),
    "bad-header-crc": lambda: hello() + req(OP_READ, 4096, bad_crc=True),
    "huge-length": lambda: hello() + req(OP_WRITE, 0xFFFFFFFF),
    "huge-read": lambda: hello() + req(OP_READ, 64 << 20),
    "unknown-opcode": lambda: hello() + req(77),
    "no-hello": lambda: req(OP_READ, 4096),
    "beyond-object": lambda: hello() + req(OP_READ, 8192, off=(4 << 20) - 4096),
    "bad-obj-order": lambda: hello() + req(OP_READ, 4096, order=60),
    "unknown-flags": lambda: hello() + req(OP_READ, 4096, flags=0x8000),
}


def main():
    host, port, case = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sock = socket.create_connection((host, port), timeout=10)
    if case == "payload-crc":
        # Well formed, but the payload does not match its crc: the daemon
        # answers BADCRC and keeps the connection.
        sock.sendall(hello())
        if not read_reply(sock):
            return 1
        sock.recv(32)
        payload = b"\xab" * 4096
        sock.sendall(req(OP_WRITE, 4096, tag=5, obj=1 << 40,
                         data_crc=crc32c(payload) ^ 1) + payload)
        reply = read_reply(sock)
        return 0 if reply and reply[0] == S_BADCRC and reply[2] == 5 else 1
    if case not in CASES:
        print("unknown case", case, file=sys.stderr)
        return 2
    try:
        sock.sendall(CASES[case]())
        if case == "truncated":
            # The rest of the header never comes: the peer hangs up.
            sock.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError):
        return 0
    return 0 if closed(sock) else 1


if __name__ == "__main__":
    sys.exit(main())
