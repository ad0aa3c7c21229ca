"""Network faults for hostile test-estate hosts, run inside the host by host-init.sh.

    python3 -I fault-server.py tarpit ADDRESS PORT
        accepts TCP connections and never says a word (no SSH banner), holding each open
    python3 -I fault-server.py reset ADDRESS PORT TARGET_ADDRESS TARGET_PORT AFTER_BYTES
        forwards to the host's real sshd, and once more than AFTER_BYTES have gone back to the
        client, resets the client's connection (TCP RST: SO_LINGER 0) in the middle of the stream

Standard library only: it runs with the machine's /usr/bin/python3 in isolated mode.
"""

from __future__ import annotations

import select
import socket
import struct
import sys
import threading

MAX_HELD = 4096


def _listen(address: str, port: int) -> socket.socket:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((address, port))
    srv.listen(512)
    return srv


def tarpit(address: str, port: int) -> None:
    srv = _listen(address, port)
    held: list[socket.socket] = []
    print(f"tarpit on {address}:{port}", flush=True)
    while True:
        conn, _ = srv.accept()
        held.append(conn)
        if len(held) > MAX_HELD:
            held.pop(0).close()


def _reset(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        sock.close()


def _relay(client: socket.socket, target: tuple[str, int], after: int) -> None:
    try:
        upstream = socket.create_connection(target, timeout=10)
    except OSError:
        _reset(client)
        return
    sent_back = 0
    try:
        while True:
            ready, _, _ = select.select([client, upstream], [], [], 300)
            if not ready:
                break
            if client in ready:
                data = client.recv(65536)
                if not data:
                    break
                upstream.sendall(data)
            if upstream in ready:
                data = upstream.recv(65536)
                if not data:
                    break
                room = after - sent_back
                if len(data) > room:
                    client.sendall(data[: max(0, room)])
                    print(f"reset after {after} bytes", flush=True)
                    _reset(client)
                    return
                client.sendall(data)
                sent_back += len(data)
    except OSError:
        pass
    finally:
        upstream.close()
    client.close()


def reset(address: str, port: int, target_address: str, target_port: int, after: int) -> None:
    srv = _listen(address, port)
    print(f"reset proxy on {address}:{port} -> {target_address}:{target_port}", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(
            target=_relay, args=(conn, (target_address, target_port), after), daemon=True
        ).start()


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "tarpit":
        tarpit(argv[1], int(argv[2]))
    elif len(argv) == 6 and argv[0] == "reset":
        reset(argv[1], int(argv[2]), argv[3], int(argv[4]), int(argv[5]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
