"""`Acceptor`: the sockets. Frames bytes into messages, hands them to sessions,
and releases what the sessions send once per event-loop turn.

One asyncio loop, one thread: a connection's bytes are framed
(`codec.frame_end`), the first message names the session (BeginString and
the two CompIDs), and every message then goes to that session. Whatever the
sessions write during a turn is held back and released by `flush`, after
`before_send` has run: the gateway makes the turn's journal records durable
there, so no acknowledgement leaves before the command it answers is on
disk, and one fsync covers the whole turn (group commit).

Internal latency: for every application message, the time from the socket
read that brought it to the write of the turn's answers (journal fsync
included) goes into `latency`, a `LatencyHistogram`.

Bounds: a message may not exceed `max_message` bytes and a connection may
not hold more than `max_pending` bytes of unsent output (a client that does
not read); either drops the connection, never the process or the others.
A connection that sends no Logon within `logon_timeout` seconds is closed.
"""
from __future__ import annotations

import asyncio
import time
from time import perf_counter_ns
from typing import Callable, Iterable

from .codec import GarbledMessage, OversizeMessage, decode, frame_end, resync
from .latency import LatencyHistogram
from .session import ADMIN, NS, Session


class Acceptor:
    def __init__(self, sessions: Iterable[Session], *, clock: Callable[[], int] = time.time_ns,
                 before_send: Callable[[], None] | None = None, max_message: int = 64 << 10,
                 max_pending: int = 16 << 20, logon_timeout: float = 10.0,
                 tick_seconds: float = 0.5):
        self.sessions = {(s.begin_string, s.sender, s.target): s for s in sessions}
        self.clock = clock
        self.before_send = before_send
        self.max_message = max_message
        self.max_pending = max_pending
        self.logon_timeout = int(logon_timeout * NS)
        self.tick_seconds = tick_seconds
        self.connections: set[Connection] = set()
        self._dirty: list[Connection] = []
        self._reads: list[tuple[int, int]] = []     # (read time, application messages)
        self.latency = LatencyHistogram()
        self.app_messages = 0
        self.on_fatal: Callable[[Exception], None] | None = None
        self.failed: Exception | None = None
        self._flush_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._timer: asyncio.TimerHandle | None = None

    async def start(self, host: str, port: int, ssl=None) -> int:
        """Listen; returns the port (useful with port 0)."""
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(lambda: Connection(self), host, port,
                                                      ssl=ssl, reuse_address=True)
        self._timer = self._loop.call_later(self.tick_seconds, self._tick)
        return self._server.sockets[0].getsockname()[1]

    async def stop(self, logout_text: str | None = None) -> None:
        """Log every session out, send what is pending and close."""
        if self._timer is not None:
            self._timer.cancel()
        if self._server is not None:
            self._server.close()
        now = self.clock()
        for session in self.sessions.values():
            if session.logged_on:
                session._logout(now, logout_text)
            session.disconnect(now)
        self.flush()
        for conn in list(self.connections):
            conn.transport.close()
        if self._server is not None:
            await self._server.wait_closed()

    def lookup(self, raw: bytes) -> Session | None:
        """The session a connection's first message names, if any."""
        try:
            msg = decode(raw, check=False)
        except GarbledMessage:
            return None
        return self.sessions.get((msg.get(8), msg.get(56), msg.get(49)))

    # ------------------------------------------------------------ output

    def request_flush(self) -> None:
        if not self._flush_scheduled and self._loop is not None:
            self._flush_scheduled = True
            self._loop.call_soon(self.flush)

    def mark(self, conn: Connection) -> None:
        if not conn.dirty:
            conn.dirty = True
            self._dirty.append(conn)
            self.request_flush()

    def flush(self) -> None:
        """Make the turn durable (`before_send`), then write what the sessions sent.

        If that fails (a full disk, an I/O error) nothing of the turn leaves:
        every connection is cut and `on_fatal` told, so that the process stops
        rather than trade on without a journal."""
        self._flush_scheduled = False
        try:
            if self.before_send is not None:
                self.before_send()
            for session in self.sessions.values():
                session.store.flush()
        except Exception as exc:                   # fail-stop
            self.failed = exc
            self._dirty.clear()
            for conn in list(self.connections):
                conn.pending.clear()
                conn.transport.abort()
            if self.on_fatal is not None:
                self.on_fatal(exc)
            return
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            conn.send_pending()
        if self._reads:
            done = perf_counter_ns()
            record = self.latency.record
            for read_at, count in self._reads:
                record(done - read_at, count)
            self._reads.clear()

    def _tick(self) -> None:
        now = self.clock()
        for session in self.sessions.values():
            session.on_timer(now)
        for conn in list(self.connections):
            if conn.session is None and now - conn.opened_at > self.logon_timeout:
                conn.close()
        self.request_flush()
        self._timer = self._loop.call_later(self.tick_seconds, self._tick)


class Connection(asyncio.Protocol):
    """One TCP connection; the `Link` of the session it logs on to."""

    def __init__(self, acceptor: Acceptor):
        self.acceptor = acceptor
        self.session: Session | None = None
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.dirty = False
        self.closing = False
        self.closed = False
        self.app_messages = 0
        self.opened_at = acceptor.clock()

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.acceptor.connections.add(self)

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.acceptor.connections.discard(self)
        session, self.session = self.session, None
        if session is not None and session.link is self:
            session.disconnect(self.acceptor.clock())
            self.acceptor.request_flush()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        read_at = perf_counter_ns()
        buf = self.buffer
        buf += data
        pos = 0
        self.app_messages = 0
        while pos < len(buf) and not self.closing:
            try:
                end = frame_end(buf, pos, self.acceptor.max_message)
            except OversizeMessage:
                self._drop()
                return
            except GarbledMessage:
                nxt = resync(buf, pos)
                if nxt < 0:
                    pos = max(pos, len(buf) - 1)    # keep a last "8" that may start "8="
                    break
                pos = nxt
                continue
            if end < 0:
                break
            raw = bytes(buf[pos:end])
            pos = end
            self._on_raw(raw)
        del buf[:pos]
        if len(buf) > self.acceptor.max_message:
            self._drop()
        if self.app_messages:
            self.acceptor._reads.append((read_at, self.app_messages))
            self.acceptor.app_messages += self.app_messages
        self.acceptor.request_flush()

    def _on_raw(self, raw: bytes) -> None:
        now = self.acceptor.clock()
        session = self.session
        if session is None:
            session = self.acceptor.lookup(raw)
            if session is None or not session.attach(self, now):
                self.close()                        # unknown CompIDs, or in use
                return
            self.session = session
        try:
            msg = decode(raw)
        except GarbledMessage:
            session.on_garbled(raw, now)
            return
        fields = msg.fields
        if len(fields) < 4 or fields[1][0] != 9 or fields[2][0] != 35:
            session.on_garbled(raw, now)            # 8, 9, 35 must come first
            return
        if msg.msg_type not in ADMIN:
            self.app_messages += 1
        session.on_message(msg, now)

    # ------------------------------------------------------------ Link

    def write(self, data: bytes) -> None:
        if not self.closing:
            self.pending.append(data)
            self.pending_bytes += len(data)
            if self.pending_bytes > self.acceptor.max_pending:
                self._drop()                       # e.g. resend requests for everything, again
                return
            self.acceptor.mark(self)

    def close(self) -> None:
        """Close once what is pending has been written (at the next flush)."""
        if not self.closing:
            self.closing = True
            self.acceptor.mark(self)

    def send_pending(self) -> None:
        self.dirty = False
        if self.closed:
            self.pending.clear()
            return
        if self.pending:
            self.transport.write(b"".join(self.pending))
            self.pending.clear()
            self.pending_bytes = 0
        if self.closing:
            self.transport.close()
        elif self.transport.get_write_buffer_size() > self.acceptor.max_pending:
            self._drop()                           # a client that does not read

    def _drop(self) -> None:
        session, self.session = self.session, None
        self.closing = True
        self.pending.clear()
        if session is not None and session.link is self:
            session.disconnect(self.acceptor.clock())
        self.transport.abort()
