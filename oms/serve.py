"""`oms serve`: the FIX gateway, the risk checks, the book and the journal in one process.

One asyncio loop in one thread does everything: sockets, sessions, the
pre-trade checks, the book and the journal. A turn of the loop reads what
arrived, runs the commands through risk and the book, journals each command
with its events, and only then, after one fsync that covers the turn (group
commit), releases the execution reports (`fix_gateway.acceptor`).

Profiles:

* ``default``: the venue and the ``[fix]`` sessions of the configuration
  (the embedded one without ``--config``), journal in ``[fix].journal``;
* ``acceptance``: the acceptor QuickFIX's acceptance scripts expect
  (SenderCompID ISLD; FIX.4.2 TW42 and FIX.4.4 TW44; ResetOnLogon; any
  symbol, tick 0.01; no risk limits), orders answered by the engine;
* ``acceptance-echo``: the same sessions with a test-only application that
  echoes orders as QuickFIX's own test application does.

On start an existing journal is verified and the book rebuilt from it
(`oms.rebuild`); the sessions' sequence numbers and sent messages are kept
beside it (``fix-sessions/``), so a restart continues the sessions where
they were.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import sys
import time
from pathlib import Path
from typing import Callable

from engine import msgpack_kernels as mp
from engine.config import Config, load_config
from engine.matching import MatchingEngine
from engine.prices import Tick
from engine.refdata import ReferenceData
from fix_gateway.acceptor import Acceptor
from fix_gateway.echo import EchoApplication
from fix_gateway.exec_reports import in_dialect
from fix_gateway.orders import Inbound, OrderEntry
from fix_gateway.session import NOT_BODY, Session, SessionSettings
from fix_gateway.settings import GatewaySettings, gateway_settings
from fix_gateway.store import MessageStore
from reporting.records import inbound_record

PROFILES = ("default", "acceptance", "acceptance-echo")
ACCEPTANCE_TICK = "0.01"
DURABILITY = ("always", "group", "none")


def acceptance_sessions() -> list[SessionSettings]:
    """The sessions QuickFIX's server acceptance scripts log on to."""
    return [SessionSettings(version, "ISLD", target, account=target, reset_on_logon=True)
            for version, target in (("FIX.4.2", "TW42"), ("FIX.4.4", "TW44"))]


class Venue:
    """The book (behind the risk gate when the venue has limits) and its
    journal: `submit` runs one command and journals it with its events."""

    def __init__(self, ref: ReferenceData, book, journal=None, stream=None):
        self.ref = ref
        self.book = book
        self.journal = journal
        self.stream = stream
        self.replaying = None       # recovery: a deque of journaled (command, events) to match
        self.finished = 0           # recovery: commands run live because none was journaled
        self.existing = False       # opened on a journal that was there already
        self._names_dirty = False
        if ref.open_ended:
            ref.on_new_instrument = self._new_instrument
            ref.on_new_account = self._new_account

    def _new_instrument(self, index, spec) -> None:
        self.book.add_instrument(spec)
        self._names_dirty = True

    def _new_account(self, index, spec) -> None:
        self.book.add_account(spec)
        self._names_dirty = True

    def submit(self, cmd) -> list:
        raw = mp.COMMAND_ENCODER.encode(cmd)
        if self.replaying is not None:
            if self.replaying:
                return self._replay(raw)
            self.finished += 1                  # nothing journaled: finish the message now
        out = self.book.submit_raw(raw)
        if self.stream is not None:
            if self._names_dirty:
                self.stream.names(self.ref.symbols(), self.ref.account_names())
                self._names_dirty = False
            self.stream.command(raw, out)
        return mp.EVENT_DECODER.decode(out)

    def _replay(self, raw: bytes) -> list:
        from reporting.reader import JournalError
        journaled, events = self.replaying.popleft()
        if raw != journaled:
            raise JournalError("the gateway, reading the journal's messages again, asks for "
                               "other commands than the journal holds")
        out = self.book.submit_raw(raw)
        if out != events:
            raise JournalError("a journaled command gives other events than the journal holds")
        return mp.EVENT_DECODER.decode(out)

    def record_inbound(self, session: str, received: int, raw: bytes) -> None:
        """Journal a FIX application message before the commands it causes."""
        if self.stream is not None:
            self.journal.append(inbound_record(session, received, raw))

    def make_durable(self) -> None:
        """Before a turn's messages leave: everything journaled is on disk."""
        j = self.journal
        if j is not None and j.durable < j.records:
            j.sync()

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()


def open_venue(config: Config | None, journal_dir: str | None, durability: str,
               source: str) -> Venue:
    """The venue of `config` (None: open-ended, tick 0.01), rebuilt from the
    journal in `journal_dir` if there is one."""
    if journal_dir is None:
        ref, book = _empty_venue(config)
        return Venue(ref, book)
    from reporting.journal import Journal
    from reporting.reader import HEAD_FILE
    from reporting.stream import StreamWriter
    directory = Path(journal_dir)
    existing = (directory / HEAD_FILE).exists()
    if existing:
        from oms.rebuild import venue_of
        from reporting.stream import read_stream
        ref, book = venue_of(read_stream(directory))
    else:
        ref, book = _empty_venue(config)
    # group commit is the acceptor's: one sync per loop turn, before the
    # turn's answers leave (`make_durable`), never in the middle of a turn
    journal = Journal(directory, durability, group_records=1 << 62, group_micros=1 << 40)
    stream = StreamWriter(journal)
    if existing:
        stream.void_trailing_command()
    elif config is not None:
        stream.venue(config.text, config.source, None)
    else:
        stream.venue(None, source, ACCEPTANCE_TICK)
        stream.names(ref.symbols(), ref.account_names())
    journal.sync()
    venue = Venue(ref, book, journal, stream)
    venue.existing = existing
    return venue


def _empty_venue(config: Config | None):
    if config is None:
        ref = ReferenceData.any_symbol(Tick.parse(ACCEPTANCE_TICK))
        return ref, MatchingEngine(ref.book_specs(), ref.account_specs())
    from risk.gate import RiskGate
    ref = ReferenceData.from_config(config)
    return ref, RiskGate(config, ref=ref)


class Gateway:
    """Sessions, the application behind them, and the venue, wired together."""

    def __init__(self, settings: GatewaySettings, venue: Venue | None, *, echo: bool = False,
                 store_dir: str | None = None, clock: Callable[[], int] = time.time_ns):
        self.settings = settings
        self.venue = venue
        self.clock = clock
        self.sessions: dict[str, Session] = {}
        self.by_account: dict[str, list[Session]] = {}
        self.drop_copies: dict[str, list[Session]] = {}
        if echo:
            app = EchoApplication(clock)
            on_app, on_logon, on_logout = app.on_application, app.on_logon, None
        else:
            self.orders = OrderEntry(venue.ref, venue.submit, **self._reject_text())
            on_app, on_logon, on_logout = self._on_application, None, self._on_logout
        for s in settings.sessions:
            session = Session(s, MessageStore(store_dir, _file_name(s.name)),
                              on_application=on_app, on_logon=on_logon, on_logout=on_logout,
                              on_reset=None if echo else self._on_reset)
            self.sessions[s.name] = session
            if s.account is not None:
                self.by_account.setdefault(s.account, []).append(session)
            for account in s.drop_copy:
                self.drop_copies.setdefault(account, []).append(session)
        self.acceptor = Acceptor(self.sessions.values(), clock=clock,
                                 before_send=venue.make_durable if venue else None,
                                 max_message=settings.max_message_bytes,
                                 max_pending=settings.max_pending_bytes,
                                 logon_timeout=settings.logon_timeout)

    def _reject_text(self) -> dict:
        detail = getattr(self.venue.book, "reject_detail", None)
        return {"reject_text": detail} if detail is not None else {}

    # ------------------------------------------------------------ application

    def account_index(self, session: Session) -> int:
        name = session.settings.account
        return -1 if name is None else self.venue.ref.account(name)

    def _on_application(self, session: Session, msg) -> None:
        now = self.clock()
        if session.settings.account is None:     # a drop copy sends no orders
            session.business_reject(msg, 6, "Not authorized: drop copy session", now)
            return
        self.venue.record_inbound(session.name, now, msg.raw)
        body = [f for f in msg.fields if f[0] not in NOT_BODY]
        inbound = Inbound(session.name, self.account_index(session), session.begin_string,
                          msg.msg_type, body, int(msg.get(34)))
        self.route(self.orders.on_message(inbound, now), now)

    def _on_reset(self, session: Session, logon, now: int) -> None:
        """A Logon that resets the sequence numbers is journaled too: recovery
        must know which MsgSeqNums belong to the session's current numbering."""
        self.venue.record_inbound(session.name, now, logon.raw)

    def _on_logout(self, session: Session) -> None:
        if session.settings.cancel_on_disconnect and session.settings.account is not None:
            now = self.clock()
            self.venue.record_inbound(session.name, now, b"")     # "its connection dropped"
            self.route(self.orders.on_disconnect(session.name, self.account_index(session),
                                                  now), now)
            self.acceptor.request_flush()

    def route(self, outbound, now: int) -> None:
        ref = self.venue.ref
        for out in outbound:
            if out.session is not None:
                targets = [self.sessions[out.session]]
            else:
                targets = self.by_account.get(ref.account_name(out.account), [])
            report = out.msg_type == b"8"
            for session in targets:
                body = in_dialect(out.body, session.fix42) if report else out.body
                session.send(out.msg_type, body, now)
            if report and out.account >= 0:
                for session in self.drop_copies.get(ref.account_name(out.account), ()):
                    session.send(b"8", in_dialect(out.body, session.fix42), now)

    # ------------------------------------------------------------ running

    def stats(self) -> dict:
        """What `--stats FILE` holds: application messages and the internal
        latency (socket read to answer written), with the histogram's buckets
        so that a reader can take the difference of two snapshots."""
        a = self.acceptor
        return {"time_ns": self.clock(), "app_messages": a.app_messages,
                "internal_latency": a.latency.summary(),
                "internal_latency_max_ns": a.latency.max,
                "internal_latency_buckets": a.latency.buckets()}

    def write_stats(self, path: str) -> None:
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:
            json.dump(self.stats(), f)
        os.replace(tmp, path)

    async def _stats_loop(self, path: str) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.write_stats(path)

    async def serve(self, host: str, port: int, tls: ssl.SSLContext | None = None,
                    ready: Callable[[int], None] | None = None,
                    stats_path: str | None = None) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        def fatal(exc: Exception) -> None:
            print(f"oms serve: the journal could not be written ({exc}); every connection was "
                  "cut and the server stops: nothing unrecorded was acknowledged",
                  file=sys.stderr, flush=True)
            stop.set()

        self.acceptor.on_fatal = fatal
        bound = await self.acceptor.start(host, port, ssl=tls)
        stats_task = asyncio.create_task(self._stats_loop(stats_path)) if stats_path else None
        if ready is not None:
            ready(bound)
        try:
            await stop.wait()
        finally:
            if stats_task is not None:
                stats_task.cancel()
                try:
                    self.write_stats(stats_path)
                except OSError:
                    pass
            if self.acceptor.failed is not None:
                raise SystemExit(1)
            await self.acceptor.stop()
            for session in self.sessions.values():
                session.store.close()
            if self.venue is not None:
                self.venue.close()



def _file_name(session_name: str) -> str:
    return session_name.replace(":", "-").replace(">", "").replace("/", "_")


def warm_up(config: Config | None) -> None:
    """Compile (or load from numba's cache) every kernel the hot path uses, on
    a scratch venue, so that the first order after the port opens is as fast
    as the rest."""
    from engine.commands import Cancel, NewOrder
    from fix_gateway.codec import decode, encode, frame_end
    ref, book = _empty_venue(config)
    instrument = ref.instrument(ref.symbols()[0] if ref.symbols() else "WARMUP")
    account = ref.account(ref.account_names()[0] if ref.account_names() else "WARMUP")
    scratch = Venue(ref, book)
    scratch.submit(NewOrder(1, instrument, account, 1, 1, 1))
    scratch.submit(Cancel(1))
    raw = encode(b"FIX.4.4", b"0", [(34, 1), (49, b"A"), (52, b"20260101-00:00:00"), (56, b"B")])
    frame_end(raw, 0)
    decode(raw)


def run(config_path: str | None, profile: str, host: str | None, port: int | None,
        journal: str | None, durability: str, stats: str | None = None,
        out=sys.stdout) -> int:
    """`oms serve`: build the gateway, warm the kernels, listen until a signal."""
    if profile == "default":
        config = load_config(config_path)
        settings = gateway_settings(config)
        journal = journal or settings.journal
    else:
        config = None
        settings = GatewaySettings(sender_comp_id="ISLD", sessions=acceptance_sessions())
    warm_up(config)
    host = host or settings.host
    port = settings.port if port is None else port
    echo = profile == "acceptance-echo"
    venue = None if echo else open_venue(config, journal, durability, f"oms serve --profile {profile}")
    store_dir = str(Path(journal) / "fix-sessions") if journal else None
    gateway = Gateway(settings, venue, echo=echo, store_dir=store_dir)
    if venue is not None and getattr(venue, "existing", False):
        from .recovery import recover
        done = recover(journal, gateway)
        venue.make_durable()
        print(f"oms serve: recovered from {journal}: {done.messages} messages, "
              f"{done.commands} commands"
              + (f", {done.finished} finished after a crash" if done.finished else "")
              + (f", answers of {done.answered} sent again" if done.answered else ""),
              file=out, flush=True)
    tls = None
    if settings.tls_certificate:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(settings.tls_certificate, settings.tls_key)

    def ready(bound: int) -> None:
        names = ", ".join(gateway.sessions)
        print(f"oms serve: profile {profile}, listening on {host}:{bound}"
              f"{' (TLS)' if tls else ''}; sessions {names}"
              f"{'; journal ' + journal if journal and venue else ''}", file=out, flush=True)

    asyncio.run(gateway.serve(host, port, tls, ready, stats))
    print("oms serve: stopped; sessions logged out, journal closed", file=out, flush=True)
    return 0
