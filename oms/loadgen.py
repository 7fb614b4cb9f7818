"""`oms loadgen`: drive a running FIX server over loopback and measure it.

It logs on as one or more configured order-entry sessions (141=Y, so each
run starts at MsgSeqNum 1), sends a seeded flow of orders and measures, per
request, the round trip from the write of the request to the first
ExecutionReport (or OrderCancelReject) carrying its ClOrdID, with
`time.perf_counter_ns`, in a `LatencyHistogram`.

The flow keeps the book bounded, so that a long run measures the same thing
throughout and stays inside the venue's risk limits: per session, limit
orders resting 1 to 20 ticks away from a fixed mid (half of the requests),
cancels of the oldest of them (two fifths, and always once more than
`depth` of them rest), and IOC orders crossing the mid by up to 20 ticks
(one tenth), which trade with what rests and leave nothing behind. A cancel
of an order filled meanwhile is answered with an OrderCancelReject "too
late": an answer all the same.

Pacing: with `rate` > 0 the requests leave open loop, at `rate` a second in
all (shared evenly by the sessions) whatever the answers: when the server
falls behind, the round trips grow rather than the offered rate falling.
With `rate` 0 each session keeps `window` requests outstanding, as fast as
the answers come. The round trip starts when the request is written to the
socket: were the client itself late, that lateness is not counted (the
offered rate, `sent_per_second`, shows it).

One thread, one non-blocking socket per session and a selector: requests are
encoded with `codec.Template` (one formatting call each) and written in a
batch per turn; answers are framed with `codec.frame_end` and only the
fields needed (MsgType, ClOrdID, ExecType) are looked up, never a full
decode. The client shares the machine with the server: on a two-core box it
takes most of one core at high rates (`client_cpu_percent`).

With `stats_path`, the file the server writes with ``oms serve --stats``,
the server's own histogram (socket read to the answer's write, journal sync
included) is read before and after the run, and the difference reported.
"""
from __future__ import annotations

import json
import random
import selectors
import socket
import time
from collections import deque
from pathlib import Path
from time import perf_counter_ns

import msgspec

from engine.config import Config
from engine.prices import Tick, format_ticks, to_ticks
from fix_gateway.codec import Template, encode, frame_end, utc_timestamp
from fix_gateway.latency import LatencyHistogram

__all__ = ["Options", "SessionSpec", "Result", "LoadgenError", "sessions_of", "run", "render",
           "main", "default_host_port"]

NS = 1_000_000_000
DEFAULT_PASSWORDS = {"FIRMA-MM": "demo"}
"""Password (554) of the built-in venue's sessions that have one (see
engine/default_config.toml)."""

CANCEL_SHARE = 0.4
CROSS_SHARE = 0.1
LEVELS = 20                        # resting orders lie 1..LEVELS ticks from the mid
MAX_BATCH = 512                    # requests written per session and turn, at most
LOGON_TIMEOUT = 5.0

# MsgType (35) and ExecType (150) values, as the ints that indexing bytes gives
_EXECUTION_REPORT = b"8"[0]
_CANCEL_REJECT = b"9"[0]
_EXEC_REJECTED = b"8"[0]
_EXEC_FILL = b"F"[0]
_EXEC_FILL_42 = (b"1"[0], b"2"[0])     # 4.2 reports fills as ExecType partial / filled


class SessionSpec(msgspec.Struct, frozen=True):
    """One session to log on as."""
    sender: str                    # its SenderCompID: the session's name in [fix.sessions]
    begin_string: str = "FIX.4.4"
    password: str | None = None


class Options(msgspec.Struct, frozen=True):
    host: str = "127.0.0.1"
    port: int = 9878
    target: str = "OMS"
    sessions: list[SessionSpec] = []
    rate: int = 10_000             # requests a second in all; 0: as fast as `window` allows
    duration: float = 10.0         # seconds of sending
    window: int = 256              # outstanding requests per session with rate 0
    depth: int = 100               # resting orders per session, at most
    symbol: str = "AAPL"
    tick: str = "0.01"
    lot: int = 1
    mid: str = "187.00"
    seed: int = 1
    drain: float = 10.0            # seconds to wait for the last answers
    stats_path: str | None = None


class Result(msgspec.Struct):
    """The figures of a run; `as_dict` is what `--json` prints."""
    sessions: list[str]
    rate: int
    duration_s: float
    orders_sent: int = 0           # requests: new orders and cancels
    new_orders: int = 0
    cancels: int = 0
    reports: int = 0               # requests answered (first report per ClOrdID)
    rejects: int = 0               # ExecType 8, BusinessMessageReject, session Reject
    cancel_rejects: int = 0        # OrderCancelReject (the order was filled first)
    fills: int = 0                 # fill reports received
    messages_received: int = 0
    sent_per_second: float = 0.0   # offered rate achieved by the client
    orders_per_second: float = 0.0  # answered requests / (first write to last answer)
    client_cpu_percent: float = 0.0   # of one core, while sending and draining
    rtt: dict = {}
    server_internal_latency: dict | None = None

    def as_dict(self) -> dict:
        d = msgspec.structs.asdict(self)
        rtt = d.pop("rtt")
        for key in ("p50_us", "p99_us", "p99_9_us", "max_us", "mean_us"):
            d[f"rtt_{key}"] = rtt.get(key, 0.0)
        return d


class LoadgenError(Exception):
    """The run could not start: a session refused, no server, a bad option."""


def sessions_of(config: Config, senders: list[str] | None, count: int,
                passwords: dict[str, str] | None = None) -> list[SessionSpec]:
    """The sessions to log on as: `senders` by name, else the first `count`
    order-entry sessions (those with an account) of the config's [fix]."""
    tables = config.fix.get("sessions", {})
    passwords = {**DEFAULT_PASSWORDS, **(passwords or {})}
    entry = [name for name, t in tables.items() if t.get("account") is not None]
    if senders is None:
        if count > len(entry):
            raise LoadgenError(f"{config.source}: {count} sessions asked for, but [fix] has "
                               f"{len(entry)} order-entry sessions ({', '.join(entry)})")
        senders = entry[:count]
    specs = []
    for name in senders:
        if name not in entry:
            raise LoadgenError(f"{config.source}: no order-entry session {name!r} in "
                               f"[fix.sessions] ({', '.join(entry) or 'none'})")
        specs.append(SessionSpec(name, tables[name].get("begin_string", "FIX.4.4"),
                                 passwords.get(name)))
    return specs


# -- one session --------------------------------------------------------------

class _Flow:
    """The seeded request mix of one session: (kind, side, price, qty, orig).

    kind 0: resting limit order, 1: crossing IOC, 2: cancel of `orig`."""

    def __init__(self, seed: int, mid: int, depth: int):
        self.rng = random.Random(seed)
        self.mid = mid
        self.depth = depth
        self.resting: deque[tuple[int, int, int]] = deque()   # (request number, side, qty)

    def next(self, n: int) -> tuple[int, int, int, int, int]:
        rng = self.rng
        r = rng.random()
        resting = self.resting
        if resting and (r < CANCEL_SHARE or len(resting) >= self.depth):
            orig, side, qty = resting.popleft()
            return 2, side, 0, qty, orig
        side = 1 if rng.random() < 0.5 else -1           # 1 buy, -1 sell
        qty = rng.randint(1, 10)
        if r < CANCEL_SHARE + CROSS_SHARE:
            return 1, side, self.mid + side * rng.randint(1, LEVELS), qty * 2, 0
        resting.append((n, side, qty))
        return 0, side, self.mid - side * rng.randint(1, LEVELS), qty, 0


class _Session:
    """A connection logged on as one session: its templates, its flow, its
    send times (by request number) and its receive buffer."""

    def __init__(self, spec: SessionSpec, opts: Options, index: int, run_id: bytes,
                 hist: LatencyHistogram, result: Result, tick: Tick):
        self.spec = spec
        self.opts = opts
        self.hist = hist
        self.result = result
        self.begin = spec.begin_string.encode()
        self.sender = spec.sender.encode()
        self.target = opts.target.encode()
        self.prefix = b"%s%d-" % (run_id, index)
        self.plen = len(self.prefix)
        self.flow = _Flow(opts.seed * 1000 + index, to_ticks(opts.mid, tick), opts.depth)
        self.tick = tick
        self.lot = opts.lot
        self.prices: dict[int, bytes] = {}
        self.sent_at: list[int] = []       # by request number; 0 once answered
        self.outstanding = 0
        self.seq = 1
        self.out = bytearray()
        self.buf = bytearray()
        self.sock: socket.socket | None = None
        self.closed = False
        head = [(34, int), (49, self.sender), (52, bytes), (56, self.target)]
        symbol = opts.symbol.encode()
        handl = [(21, b"1")] if self.begin == b"FIX.4.2" else []
        self.new = Template(self.begin, b"D", head + [(11, bytes)] + handl + [
            (38, int), (40, b"2"), (44, bytes), (54, bytes), (55, symbol), (59, bytes),
            (60, bytes)])
        self.cancel = Template(self.begin, b"F", head + [
            (11, bytes), (38, int), (41, bytes), (54, bytes), (55, symbol), (60, bytes)])

    # ------------------------------------------------------------ logon / logout

    def connect(self) -> None:
        try:
            sock = socket.create_connection((self.opts.host, self.opts.port),
                                            timeout=LOGON_TIMEOUT)
        except OSError as e:
            raise LoadgenError(f"cannot connect to {self.opts.host}:{self.opts.port}: "
                               f"{e.strerror or e}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        body = [(98, 0), (108, 30), (141, b"Y")]
        if self.spec.password is not None:
            body.append((554, self.spec.password))
        self.seq = 1
        self._send_admin(b"A", body)
        deadline = time.monotonic() + LOGON_TIMEOUT
        while True:
            msg_type = self._read_admin(deadline)
            if msg_type == b"A":
                break
            if msg_type == b"5":
                raise LoadgenError(f"{self.spec.sender}: the server refused the Logon")
        sock.setblocking(False)

    def logout(self) -> None:
        if self.closed:
            return
        try:
            self.sock.setblocking(True)
            if self.out:
                self.sock.sendall(self.out)
                self.out.clear()
            self._send_admin(b"5", [])
            deadline = time.monotonic() + 2.0
            while self._read_admin(deadline) != b"5":
                pass
        except (OSError, TimeoutError, LoadgenError):
            pass
        self.sock.close()
        self.closed = True

    def _send_admin(self, msg_type: bytes, body: list) -> None:
        head = [(34, self.seq), (49, self.sender), (52, utc_timestamp(time.time_ns())),
                (56, self.target)]
        self.seq += 1
        self.sock.sendall(encode(self.begin, msg_type, head + body))

    def _read_admin(self, deadline: float) -> bytes:
        """The MsgType of the next message (during logon and logout only)."""
        while True:
            end = frame_end(self.buf) if self.buf else -1
            if end > 0:
                i = self.buf.find(b"\x0135=", 0, end)
                msg_type = bytes(self.buf[i + 4:self.buf.find(b"\x01", i + 4, end)])
                del self.buf[:end]
                return msg_type
            left = deadline - time.monotonic()
            if left <= 0:
                raise LoadgenError(f"{self.spec.sender}: no answer from the server in time")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 16)
            except socket.timeout:
                continue
            if not data:
                raise LoadgenError(f"{self.spec.sender}: the server closed the connection")
            self.buf += data

    # ------------------------------------------------------------ sending

    def _price(self, ticks: int) -> bytes:
        text = self.prices.get(ticks)
        if text is None:
            text = self.prices[ticks] = format_ticks(ticks, self.tick).encode()
        return text

    def send_batch(self, count: int) -> None:
        """Encode and write `count` requests of the flow."""
        if count <= 0:
            return
        now = utc_timestamp(time.time_ns())
        flow, prefix, sent_at = self.flow, self.prefix, self.sent_at
        new, cancel, lot = self.new.encode, self.cancel.encode, self.lot
        result = self.result
        parts = []
        first = len(sent_at)
        for n in range(first, first + count):
            kind, side, price, qty, orig = flow.next(n)
            side_b = b"1" if side > 0 else b"2"
            if kind == 2:
                parts.append(cancel(self.seq, now, prefix + b"%d" % n, qty * lot,
                                    prefix + b"%d" % orig, side_b, now))
                result.cancels += 1
            else:
                parts.append(new(self.seq, now, prefix + b"%d" % n, qty * lot,
                                 self._price(price), side_b, b"0" if kind == 0 else b"3", now))
                result.new_orders += 1
            self.seq += 1
        self.out += b"".join(parts)
        t = perf_counter_ns()
        sent_at.extend([t] * count)
        self.outstanding += count
        result.orders_sent += count
        self.flush()

    def flush(self) -> None:
        if self.out and not self.closed:
            try:
                n = self.sock.send(self.out)
            except BlockingIOError:
                return
            except OSError:
                self.closed = True
                return
            del self.out[:n]

    # ------------------------------------------------------------ receiving

    def on_readable(self) -> None:
        try:
            data = self.sock.recv(1 << 18)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return
        now = perf_counter_ns()
        buf = self.buf
        buf += data
        pos = 0
        size = len(buf)
        result, sent_at, record = self.result, self.sent_at, self.hist.record
        prefix, plen = self.prefix, self.plen
        while pos < size:
            end = frame_end(buf, pos)
            if end < 0:
                break
            result.messages_received += 1
            i = buf.find(b"\x0135=", pos, end) + 4
            msg_type = buf[i]
            if msg_type == _EXECUTION_REPORT or msg_type == _CANCEL_REJECT:
                j = buf.find(b"\x0111=", i, end) + 4
                k = buf.find(b"\x01", j, end)
                if buf[j:j + plen] == prefix:
                    n = int(buf[j + plen:k])
                    if msg_type == _CANCEL_REJECT:
                        result.cancel_rejects += 1
                    else:
                        x = buf.find(b"\x01150=", i, end)
                        exec_type = buf[x + 5] if x > 0 else 0
                        if exec_type == _EXEC_REJECTED:
                            result.rejects += 1
                        elif exec_type == _EXEC_FILL or (exec_type in _EXEC_FILL_42
                                                    and self.begin == b"FIX.4.2"):
                            result.fills += 1
                    t = sent_at[n]
                    if t:
                        record(now - t)
                        sent_at[n] = 0
                        self.outstanding -= 1
                        result.reports += 1
            elif msg_type == b"1"[0]:                   # TestRequest
                j = buf.find(b"\x01112=", i, end) + 5
                test_id = bytes(buf[j:buf.find(b"\x01", j, end)])
                self._queue_admin(b"0", [(112, test_id)])
            elif msg_type in b"j3":                     # business or session Reject
                result.rejects += 1
            elif msg_type == b"5"[0]:
                self.closed = True
            pos = end
        del buf[:pos]

    def _queue_admin(self, msg_type: bytes, body: list) -> None:
        head = [(34, self.seq), (49, self.sender), (52, utc_timestamp(time.time_ns())),
                (56, self.target)]
        self.seq += 1
        self.out += encode(self.begin, msg_type, head + body)
        self.flush()


# -- the run ------------------------------------------------------------------

def read_stats(path: str | None) -> dict | None:
    if path is None:
        return None
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def _histogram(stats: dict) -> LatencyHistogram:
    return LatencyHistogram.from_buckets(stats.get("internal_latency_buckets", {}),
                                         stats.get("internal_latency_max_ns", 0))


def _run_part(before: dict, after: dict) -> LatencyHistogram:
    """What the server recorded between two snapshots. Its max is the upper
    bound of the highest bucket filled meanwhile (the server's own max covers
    its whole life), never above the server's max."""
    part = _histogram(after).minus(_histogram(before))
    top = LatencyHistogram.from_buckets(part.buckets())
    part.max = min(top.max, after.get("internal_latency_max_ns", top.max) or top.max)
    return part


def _stats_after(path: str, after_ns: int, timeout: float = 3.0) -> dict | None:
    """The server's stats written after `after_ns` (wall clock): it writes every second."""
    deadline = time.monotonic() + timeout
    stats = read_stats(path)
    while (stats is None or stats.get("time_ns", 0) <= after_ns) and time.monotonic() < deadline:
        time.sleep(0.1)
        stats = read_stats(path)
    return stats


def run(opts: Options) -> Result:
    """Log on, send for `opts.duration` seconds, wait for the answers (at most
    `opts.drain` seconds more), log out; the figures."""
    if not opts.sessions:
        raise LoadgenError("no session to log on as")
    if opts.rate < 0 or opts.duration <= 0 or opts.window < 1:
        raise LoadgenError("--rate must be >= 0, --duration > 0, --window >= 1")
    tick = Tick.parse(opts.tick)
    hist = LatencyHistogram()
    result = Result([s.sender for s in opts.sessions], opts.rate, opts.duration)
    run_id = b"L%x" % (time.time_ns() // 1_000_000 % (1 << 40))
    sessions = [_Session(spec, opts, i, run_id, hist, result, tick)
                for i, spec in enumerate(opts.sessions)]
    selector = selectors.DefaultSelector()
    try:
        for s in sessions:
            s.connect()
            selector.register(s.sock, selectors.EVENT_READ, s)
        before = read_stats(opts.stats_path)
        deadline = time.monotonic() + 2.5          # the server writes it every second
        while opts.stats_path is not None and before is None and time.monotonic() < deadline:
            time.sleep(0.1)
            before = read_stats(opts.stats_path)
        if opts.stats_path is not None and before is None:
            raise LoadgenError(f"cannot read the server's stats file {opts.stats_path}")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        _drive(sessions, selector, opts, result)
        result.client_cpu_percent = round(100 * (time.process_time() - cpu0) / max(
            time.perf_counter() - wall0, 1e-9), 1)
    finally:
        for s in sessions:
            if s.sock is not None:
                s.logout()
        selector.close()
    result.rtt = hist.summary()
    if before is not None:
        after = _stats_after(opts.stats_path, time.time_ns())
        if after is not None:
            result.server_internal_latency = _run_part(before, after).summary()
            result.server_internal_latency["app_messages"] = (after.get("app_messages", 0)
                                                              - before.get("app_messages", 0))
    return result


def _drive(sessions: list[_Session], selector, opts: Options, result: Result) -> None:
    """The loop: write what is due, read what came, until the time is up and
    the answers are in (or the drain time is over)."""
    per_session = opts.rate / len(sessions) if opts.rate else 0.0
    interval = NS / per_session if per_session else 0.0
    start = perf_counter_ns()
    stop_sending = start + int(opts.duration * NS)
    give_up = stop_sending + int(opts.drain * NS)
    last_answer = start
    sending = True
    while True:
        now = perf_counter_ns()
        if sending and now >= stop_sending:
            sending = False
            result.duration_s = round((now - start) / NS, 3)
        timeout = 0.05
        if sending:
            for s in sessions:
                if s.closed:
                    continue
                if interval:
                    due = int((now - start) / interval) + 1 - len(s.sent_at)
                    if due <= 0:
                        wait = (start + len(s.sent_at) * interval - now) / NS
                        timeout = min(timeout, max(wait, 0.0))
                else:
                    due = opts.window - s.outstanding
                s.send_batch(min(due, MAX_BATCH))
        elif all(s.outstanding == 0 or s.closed for s in sessions) or now > give_up:
            break
        for s in sessions:
            if s.out:
                s.flush()
                timeout = min(timeout, 0.0005)
        answered = result.reports
        for key, _ in selector.select(timeout):
            key.data.on_readable()
        if result.reports != answered:
            last_answer = perf_counter_ns()
        if all(s.closed for s in sessions):
            break
    elapsed = (stop_sending if sending else start + int(result.duration_s * NS)) - start
    result.sent_per_second = round(result.orders_sent * NS / max(elapsed, 1), 1)
    result.orders_per_second = round(result.reports * NS / max(last_answer - start, 1), 1)


# -- output -------------------------------------------------------------------

def render(result: Result, opts: Options) -> str:
    """The readable table of a run."""
    rtt = result.rtt
    rate = "as fast as answered" if opts.rate == 0 else f"{opts.rate:,}/s offered"
    window = f", window {opts.window}/session" if opts.rate == 0 else ""
    lines = [
        f"oms loadgen: {len(result.sessions)} session(s) ({', '.join(result.sessions)}) -> "
        f"{opts.host}:{opts.port}, {rate}{window}, {result.duration_s:g} s, seed {opts.seed}",
        "",
        f"  {'requests sent':<28}{result.orders_sent:>12,}   (new {result.new_orders:,}, "
        f"cancels {result.cancels:,}; {result.sent_per_second:,.0f}/s)",
        f"  {'answered':<28}{result.reports:>12,}   (rejects {result.rejects:,}, cancel "
        f"rejects {result.cancel_rejects:,}, fills {result.fills:,})",
        f"  {'throughput':<28}{result.orders_per_second:>12,.0f}   requests/s, first write "
        f"to last answer",
        f"  {'client CPU':<28}{result.client_cpu_percent:>11.0f}%   of one core (sending "
        f"and draining)",
        "",
        f"  {'latency (us)':<28}{'count':>12}{'p50':>12}{'p99':>12}{'p99.9':>12}{'max':>12}",
        _latency_row("round trip (client)", rtt),
    ]
    server = result.server_internal_latency
    if server is not None:
        lines.append(_latency_row("server internal", server))
    elif opts.stats_path is None:
        lines.append("  (server internal latency: give --stats FILE, as written by "
                     "oms serve --stats FILE)")
    unanswered = result.orders_sent - result.reports
    if unanswered:
        lines.append(f"\n  {unanswered:,} requests unanswered after the drain time")
    return "\n".join(lines)


def _latency_row(name: str, s: dict) -> str:
    return (f"  {name:<28}{s.get('count', 0):>12,}" + "".join(
        f"{s.get(key, 0):>12,.1f}" for key in ("p50_us", "p99_us", "p99_9_us", "max_us")))


def main(opts: Options, as_json: bool, out=None) -> int:
    import sys
    out = out or sys.stdout
    result = run(opts)
    print(render(result, opts), file=out, flush=True)
    if as_json:
        print(json.dumps(result.as_dict()), file=out, flush=True)
    return 0 if result.reports == result.orders_sent else 1


def default_host_port(config: Config) -> tuple[str, int, str]:
    fix = config.fix
    return (fix.get("host", "127.0.0.1"), fix.get("port", 9878),
            fix.get("sender_comp_id", "OMS"))

