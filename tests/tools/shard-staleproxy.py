#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Stands between the kernel and a shardd and answers some requests STALE.

    shard-staleproxy.py LISTEN_PORT DAEMON_PORT MODE EPOCH [N]

Listens on 127.0.0.1:LISTEN_PORT; every connection is relayed to the
daemon at 127.0.0.1:DAEMON_PORT (HELLO included, so the kernel sees the
daemon's own id), except data requests (READ, WRITE, DISCARD,
WRITE_ZEROES) that MODE picks: those get a SHARD_S_STALE reply carrying
EPOCH as the daemon's epoch, and never reach the daemon.

    first   the first N data requests
    below   requests stamped with an epoch lower than EPOCH
    always  every data request

Prints "stale TAG REQ_EPOCH" for every STALE answer, "ready" once
listening. Runs until killed."""
import socket
import struct
import sys
import threading

REQ_MAGIC, REPLY_MAGIC, VERSION = 0x51524453, 0x50524453, 1
OP_WRITE = 4
DATA_OPS = (3, 4, 6, 7)  # READ, WRITE, DISCARD, WRITE_ZEROES
S_STALE = 5
HDR = 64

lock = threading.Lock()
answered = 0


def crc32c(data, crc=0xFFFFFFFF):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def stale_reply(opcode, tag, epoch):
    # magic, version, opcode, reserved0, status, len, tag, epoch,
    # reserved[3], data_crc
    hdr = struct.pack("<IBBHIIQQ24xI", REPLY_MAGIC, VERSION, opcode, 0,
                      S_STALE, 0, tag, epoch, 0)
    return hdr + struct.pack("<I", crc32c(hdr))


def wants_stale(mode, epoch, n, req_epoch):
    global answered
    if mode == "always":
        pass
    elif mode == "below":
        if req_epoch >= epoch:
            return False
    elif answered >= n:  # first
        return False
    answered += 1
    return True


def client_to_daemon(client, daemon, out_lock, mode, epoch, n):
    try:
        while True:
            hdr = recv_exact(client, HDR)
            magic, _ver, op, _flags, length = struct.unpack_from("<IBBHI",
                                                                 hdr)
            if magic != REQ_MAGIC:
                break
            tag, req_epoch = struct.unpack_from("<QQ", hdr, 16)
            payload = recv_exact(client, length) if op == OP_WRITE else b""
            with lock:
                stale = op in DATA_OPS and wants_stale(mode, epoch, n,
                                                       req_epoch)
                if stale:
                    print(f"stale {tag:#x} {req_epoch}", flush=True)
            if stale:
                with out_lock:
                    client.sendall(stale_reply(op, tag, epoch))
            else:
                daemon.sendall(hdr + payload)
    except (EOFError, OSError):
        pass
    for s in (client, daemon):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def daemon_to_client(client, daemon, out_lock):
    try:
        while True:
            hdr = recv_exact(daemon, HDR)
            length = struct.unpack_from("<I", hdr, 12)[0]
            payload = recv_exact(daemon, length) if length else b""
            with out_lock:
                client.sendall(hdr + payload)
    except (EOFError, OSError):
        pass
    for s in (client, daemon):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    if len(sys.argv) < 5 or sys.argv[3] not in ("first", "below", "always"):
        sys.exit(__doc__)
    port, dport, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    epoch = int(sys.argv[4])
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(16)
    print("ready", flush=True)
    while True:
        client, _ = srv.accept()
        try:
            daemon = socket.create_connection(("127.0.0.1", dport))
        except OSError:
            client.close()
            continue
        for s in (client, daemon):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        out_lock = threading.Lock()
        threading.Thread(target=client_to_daemon, daemon=True,
                         args=(client, daemon, out_lock, mode, epoch,
                               n)).start()
        threading.Thread(target=daemon_to_client, daemon=True,
                         args=(client, daemon, out_lock)).start()


if __name__ == "__main__":
    main()
