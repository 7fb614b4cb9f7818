"""A small synchronous FIX client for the socket-level tests: one blocking
socket, `fix_gateway.codec` for the bytes, no threads.

It numbers what it sends (`seq`), reads whole messages with a timeout
(answering the server's TestRequests on the way unless told not to) and
says plainly when the server closed the connection.
"""
from __future__ import annotations

import socket
import ssl
import time

from fix_gateway.codec import FixMessage, decode, encode, frame_end, utc_timestamp

HOST = "127.0.0.1"


class Closed(ConnectionError):
    """The server closed the connection (or reset it)."""


class FixClient:
    def __init__(self, port: int, sender: str, *, target: str = "OMS",
                 begin_string: str = "FIX.4.4", timeout: float = 5.0,
                 tls: ssl.SSLContext | None = None):
        self.begin = begin_string.encode()
        self.sender, self.target = sender.encode(), target.encode()
        self.timeout = timeout
        sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock = tls.wrap_socket(sock, server_hostname=HOST) if tls else sock
        self.buf = bytearray()
        self.seq = 1                     # our next MsgSeqNum
        self.received: list[FixMessage] = []
        self.closed = False
        self._ids = 0

    # ------------------------------------------------------------ sending

    def message(self, msg_type: bytes, body: list, *, seq: int | None = None,
                header: list = (), sending_time: bytes | None = None) -> bytes:
        """The bytes of a message with our next MsgSeqNum (or `seq`); the
        number is used up only when `seq` is None."""
        if seq is None:
            seq, self.seq = self.seq, self.seq + 1
        head = [(34, seq), (49, self.sender),
                (52, sending_time or utc_timestamp(time.time_ns())), (56, self.target)]
        head += list(header)
        head.sort(key=lambda f: f[0])
        return encode(self.begin, msg_type, head + list(body))

    def send(self, msg_type: bytes, body: list = (), **kw) -> bytes:
        raw = self.message(msg_type, body, **kw)
        self.send_raw(raw)
        return raw

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def logon(self, *, reset: bool = True, password: str | None = None,
              heartbeat: int = 30, expect: bool = True) -> FixMessage | None:
        """Send a Logon (141=Y unless `reset` is False) and, with `expect`,
        read the answer, which must be a Logon."""
        body = [(98, 0), (108, heartbeat)]
        if reset:
            body.append((141, b"Y"))
            self.seq = 1
        if password is not None:
            body.append((554, password))
        self.send(b"A", body)
        if not expect:
            return None
        answer = self.read()
        assert answer.msg_type == b"A", answer
        return answer

    def logout(self) -> None:
        """Log out cleanly: Logout, wait for the answer and the close."""
        if self.closed:
            return
        try:
            self.send(b"5")
            while True:
                self.read()
        except (Closed, OSError, TimeoutError):
            pass
        self.close()

    def close(self) -> None:
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass

    def next_id(self, prefix: str = "C") -> bytes:
        self._ids += 1
        return f"{prefix}{self._ids}-{time.monotonic_ns()}".encode()

    # ------------------------------------------------------------ receiving

    def read(self, timeout: float | None = None, *, answer_test_requests: bool = True
             ) -> FixMessage:
        """The next message from the server; raises TimeoutError or Closed."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            end = frame_end(self.buf) if self.buf else -1
            if end > 0:
                raw = bytes(self.buf[:end])
                del self.buf[:end]
                msg = decode(raw)
                self.received.append(msg)
                if answer_test_requests and msg.msg_type == b"1":
                    self.send(b"0", [(112, msg.get(112))])
                    continue
                return msg
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.sender.decode()}: no message in time")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 16)
            except socket.timeout:
                raise TimeoutError(f"{self.sender.decode()}: no message in time") from None
            except (ConnectionResetError, ssl.SSLError) as e:
                self.closed = True
                raise Closed(str(e)) from None
            if not data:
                self.closed = True
                raise Closed(f"{self.sender.decode()}: the server closed the connection")
            self.buf += data

    def expect(self, msg_type: bytes, timeout: float | None = None) -> FixMessage:
        """The next message that is not a Heartbeat; it must be of `msg_type`."""
        while True:
            msg = self.read(timeout)
            if msg.msg_type != b"0" or msg_type == b"0":
                assert msg.msg_type == msg_type, f"expected 35={msg_type!r}, got {msg}"
                return msg

    def expect_nothing(self, wait: float = 0.3) -> None:
        """No application message arrives within `wait` seconds."""
        try:
            while True:
                msg = self.read(wait)
                assert msg.msg_type == b"0", f"unexpected {msg}"
        except TimeoutError:
            return

    def expect_closed(self, timeout: float | None = None) -> list[FixMessage]:
        """Read until the server closes the connection; what came before it."""
        got = []
        try:
            while True:
                got.append(self.read(timeout))
        except Closed:
            return got

    # ------------------------------------------------------------ orders

    def new_order(self, side: str, qty, symbol: str, price=None, *, clordid: bytes | None = None,
                  tif: bytes = b"0", extra: list = ()) -> bytes:
        """Send a NewOrderSingle (limit, or market without `price`); its ClOrdID."""
        clordid = clordid or self.next_id()
        body = [(11, clordid), (38, str(qty)), (40, b"2" if price is not None else b"1")]
        if price is not None:
            body.append((44, str(price)))
        body += [(21, b"1"), (54, {"buy": b"1", "sell": b"2"}[side]), (55, symbol),
                 (59, tif), (60, utc_timestamp(time.time_ns()))]
        body += list(extra)
        self.send(b"D", sorted(body, key=lambda f: f[0]))
        return clordid

    def cancel(self, orig: bytes, side: str, symbol: str, *, clordid: bytes | None = None,
               qty=None) -> bytes:
        clordid = clordid or self.next_id("X")
        body = [(11, clordid), (41, orig), (54, {"buy": b"1", "sell": b"2"}[side]),
                (55, symbol), (60, utc_timestamp(time.time_ns()))]
        if qty is not None:
            body.append((38, str(qty)))
        self.send(b"F", sorted(body, key=lambda f: f[0]))
        return clordid


def fields(msg: FixMessage, *tags: int) -> tuple:
    """The values of `tags` in `msg`, as str (None where absent)."""
    return tuple(None if msg.get(t) is None else msg.get(t).decode() for t in tags)

