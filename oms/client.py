"""`oms client`: a line-mode FIX client for a person at a terminal.

    buy 100 AAPL 187.00        a limit order (no price: a market order)
    sell 50 AAPL 187.10 ioc    time in force: day (default), gtc, ioc, fok
    short 50 AAPL 187.10       a short sale (FIX Side 5)
    cancel C1                  cancel by the ClOrdID the client gave it
    replace C1 80 187.05       new total quantity and price
    status C1                  ask for the order's state
    cancelall [AAPL]           mass cancel (all orders, or one symbol's)
    quit                       log out and leave (also at the end of input)

Each order gets a ClOrdID (C1, C2, ...); execution reports are printed one
line each. Lines can come from a pipe, so the client also scripts a session:
``printf 'buy 100 AAPL 187.00\\nquit\\n' | oms client``.
"""
from __future__ import annotations

import socket
import sys
import threading
import time

from fix_gateway.codec import GarbledMessage, decode, encode, frame_end, utc_timestamp

SIDES = {"buy": b"1", "sell": b"2", "short": b"5"}
TIFS = {"day": b"0", "gtc": b"1", "ioc": b"3", "fok": b"4"}
EXEC_TYPES = {b"0": "NEW", b"1": "PARTIAL", b"2": "FILL", b"4": "CANCELED", b"5": "REPLACED",
              b"8": "REJECTED", b"C": "EXPIRED", b"F": "TRADE", b"I": "STATUS",
              b"D": "RESTATED", b"3": "DONE"}
ORD_STATUS = {b"0": "new", b"1": "partially filled", b"2": "filled", b"4": "canceled",
              b"5": "replaced", b"8": "rejected", b"C": "expired"}
SIDE_NAMES = {b"1": "buy", b"2": "sell", b"5": "short", b"6": "short-exempt"}


class UsageError(ValueError):
    """A line the client cannot turn into a message."""


class Client:
    def __init__(self, host: str, port: int, sender: str, target: str,
                 begin_string: str = "FIX.4.4", password: str | None = None, out=sys.stdout,
                 heartbeat: int = 30):
        self.begin = begin_string.encode()
        self.sender, self.target = sender.encode(), target.encode()
        self.password = password
        self.out = out
        self.heartbeat = heartbeat
        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.settimeout(None)
        self.seq = 1
        self.next_id = 1
        self.lock = threading.Lock()
        self.logged_on = threading.Event()
        self.closed = threading.Event()
        self.answered = threading.Condition()
        self.waiting: set[bytes] = set()
        self.orders: dict[bytes, tuple] = {}     # ClOrdID -> (side, symbol, qty, ord type)
        self.reader = threading.Thread(target=self._read, daemon=True)

    # ------------------------------------------------------------ sending

    def send(self, msg_type: bytes, body: list) -> None:
        with self.lock:
            head = [(34, self.seq), (49, self.sender), (52, utc_timestamp(time.time_ns())),
                    (56, self.target)]
            self.seq += 1
            self.sock.sendall(encode(self.begin, msg_type, head + body))

    def logon(self, timeout: float = 10.0) -> bool:
        self.reader.start()
        body = [(98, 0), (108, self.heartbeat), (141, b"Y")]
        if self.password is not None:
            body.append((554, self.password))
        self.send(b"A", body)
        return self.logged_on.wait(timeout)

    def logout(self, timeout: float = 5.0) -> None:
        if not self.closed.is_set():
            try:
                self.send(b"5", [])
            except OSError:
                pass
            self.closed.wait(timeout)
        self.sock.close()

    def command(self, line: str) -> bool:
        """Send what `line` asks for; False when it asks to quit."""
        words = line.split()
        if not words or words[0].startswith("#"):
            return True
        verb = words[0].lower()
        now = utc_timestamp(time.time_ns())
        if verb in ("quit", "exit"):
            return False
        if verb in SIDES:
            self._new_order(verb, words[1:], now)
        elif verb == "cancel" and len(words) == 2:
            side, symbol, qty, _ = self._order(words[1])
            self._expect(self._send_request(b"F", [(38, qty), (41, words[1]), (54, side),
                                                   (55, symbol)], now, words[1]))
        elif verb == "replace" and len(words) == 4:
            side, symbol, _, ord_type = self._order(words[1])
            self._expect(self._send_request(b"G", [(21, b"1"), (38, words[2]), (40, ord_type),
                                                   (41, words[1]), (44, words[3]), (54, side),
                                                   (55, symbol)], now, words[1]))
        elif verb == "status" and len(words) == 2:
            side, symbol, _, _ = self._order(words[1])
            self.send(b"H", [(11, words[1]), (54, side), (55, symbol)])
            self._expect(words[1].encode())
        elif verb == "cancelall" and len(words) <= 2:
            cl = self._cl_ord_id()
            body = [(11, cl), (60, now)]
            if len(words) == 2:
                body += [(55, words[1]), (530, b"1")]
            else:
                body.append((530, b"7"))
            self.send(b"q", sorted(body, key=lambda f: f[0]))
            self._expect(cl)
        else:
            raise UsageError(f"cannot read {line.strip()!r}; try: buy 100 AAPL 187.00, "
                             "cancel C1, replace C1 80 187.05, status C1, quit")
        return True

    def _new_order(self, verb: str, args: list[str], now: bytes) -> None:
        tif = b"0"
        if args and args[-1].lower() in TIFS:
            tif = TIFS[args.pop().lower()]
        if len(args) not in (2, 3):
            raise UsageError(f"{verb} QTY SYMBOL [PRICE] [day|gtc|ioc|fok]")
        cl = self._cl_ord_id()
        body = [(11, cl), (21, b"1"), (38, args[0]), (40, b"2" if len(args) == 3 else b"1")]
        if len(args) == 3:
            body.append((44, args[2]))
        body += [(54, SIDES[verb]), (55, args[1]), (59, tif), (60, now)]
        self.send(b"D", body)
        self.orders[cl] = (SIDES[verb], args[1], args[0], body[3][1])
        self.print(f"{cl.decode()} sent: {verb} {args[0]} {args[1]}"
                   f"{' @ ' + args[2] if len(args) == 3 else ' at market'}")
        self._expect(cl)

    def _order(self, cl: str) -> tuple:
        order = self.orders.get(cl.encode())
        if order is None:
            raise UsageError(f"no order {cl} was sent in this session")
        return order

    def _send_request(self, msg_type: bytes, fields: list, now: bytes, orig: str) -> bytes:
        cl = self._cl_ord_id()
        self.orders[cl] = self.orders[orig.encode()]
        self.send(msg_type, sorted([(11, cl), (60, now)] + fields, key=lambda f: f[0]))
        return cl

    def _cl_ord_id(self) -> bytes:
        cl = b"C%d" % self.next_id
        self.next_id += 1
        return cl

    def _expect(self, cl: bytes) -> None:
        with self.answered:
            self.waiting.add(cl)

    def wait_answers(self, timeout: float = 5.0) -> None:
        """Until every request so far has had an answer (or `timeout`)."""
        deadline = time.monotonic() + timeout
        with self.answered:
            while self.waiting and not self.closed.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self.answered.wait(left)

    # ------------------------------------------------------------ receiving

    def _read(self) -> None:
        buf = bytearray()
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                buf += data
                while True:
                    try:
                        end = frame_end(buf, 0)
                    except GarbledMessage:
                        buf.clear()
                        break
                    if end < 0:
                        break
                    raw = bytes(buf[:end])
                    del buf[:end]
                    self._on_message(decode(raw, check=False))
        except OSError:
            pass
        finally:
            self.closed.set()
            self.logged_on.set()
            with self.answered:
                self.answered.notify_all()

    def _on_message(self, msg) -> None:
        mt = msg.msg_type
        if mt == b"A":
            self.print(f"logged on to {self.target.decode()} ({self.begin.decode()})")
            self.logged_on.set()
        elif mt == b"1":
            self.send(b"0", [(112, msg.get(112))])
        elif mt == b"5":
            text = msg.get(58)
            self.print("logged out" + (f": {text.decode()}" if text else ""))
            if not self.closed.is_set():
                try:
                    self.send(b"5", [])
                except OSError:
                    pass
            self.closed.set()
        elif mt == b"8":
            self.print(describe_report(msg))
            self._answered(msg.get(11))
        elif mt == b"9":
            self.print(f"{_s(msg.get(11))} CANCEL REJECTED ({_s(msg.get(41))}): "
                       f"{_s(msg.get(58)) or 'reason ' + _s(msg.get(102))}")
            self._answered(msg.get(11))
        elif mt == b"r":
            self.print(f"{_s(msg.get(11))} MASS CANCEL: {_s(msg.get(533)) or '0'} orders canceled"
                       + (f" ({_s(msg.get(58))})" if msg.get(58) else ""))
            self._answered(msg.get(11))
        elif mt in (b"3", b"j"):
            self.print(f"REJECT of message {_s(msg.get(45))}: {_s(msg.get(58))}")
            with self.answered:
                self.waiting.clear()
                self.answered.notify_all()

    def _answered(self, cl: bytes | None) -> None:
        with self.answered:
            self.waiting.discard(cl)
            self.answered.notify_all()

    def print(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def describe_report(msg) -> str:
    """One line for a person: 'C1 FILL buy 100 AAPL @ 187.00: filled, cum 100, leaves 0, avg 187.00'."""
    kind = EXEC_TYPES.get(msg.get(150), _s(msg.get(150)))
    if msg.get(20) is not None and msg.get(150) in (b"1", b"2"):
        kind = "FILL"                                   # FIX 4.2 fills
    line = (f"{_s(msg.get(11))} {kind} {SIDE_NAMES.get(msg.get(54), '?')} "
            f"{_s(msg.get(38))} {_s(msg.get(55))}")
    if msg.get(44):
        line += f" @ {_s(msg.get(44))}"
    if msg.get(32) and msg.get(32) != b"0":
        line += f"; last {_s(msg.get(32))} @ {_s(msg.get(31))}"
    line += (f": {ORD_STATUS.get(msg.get(39), _s(msg.get(39)))}, cum {_s(msg.get(14))}, "
             f"leaves {_s(msg.get(151))}, avg {_s(msg.get(6))}, order {_s(msg.get(37))}")
    if msg.get(58):
        line += f" ({_s(msg.get(58))})"
    return line


def _s(value: bytes | None) -> str:
    return "" if value is None else value.decode("latin-1")


def run(host: str, port: int, sender: str, target: str, begin_string: str,
        password: str | None, lines, out=sys.stdout) -> int:
    try:
        client = Client(host, port, sender, target, begin_string, password, out)
    except OSError as exc:
        print(f"oms client: cannot connect to {host}:{port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    if not client.logon() or client.closed.is_set():
        print("oms client: the logon was refused (unknown CompIDs or password?)", file=sys.stderr)
        client.sock.close()
        return 1
    interactive = lines is sys.stdin and sys.stdin.isatty()
    if interactive:
        client.print(__doc__.split("\n\n")[1])
    try:
        for number, line in enumerate(lines, 1):
            if client.closed.is_set():
                break
            try:
                if not client.command(line):
                    break
            except UsageError as exc:
                print(f"oms client: line {number}: {exc}", file=sys.stderr)
            if not interactive:
                client.wait_answers()
    except KeyboardInterrupt:
        pass
    client.wait_answers()
    client.logout()
    return 0
