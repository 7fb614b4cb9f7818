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
from fix_gateway.session import Session, SessionSettings
from fix_gateway.settings import GatewaySettings, gateway_settings
from fix_gateway.store import MessageStore

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
        out = self.book.submit_raw(raw)
        if self.stream is not None:
            if self._names_dirty:
                self.stream.names(self.ref.symbols(), self.ref.account_names())
                self._names_dirty = False
            self.stream.command(raw, out)
        return mp.EVENT_DECODER.decode(out)

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
        from oms.rebuild import rebuild
        ref, book, _ = rebuild(directory)
    else:
        ref, book = _empty_venue(config)
    journal = Journal(directory, durability)
    stream = StreamWriter(journal)
    if existing:
        stream.void_trailing_command()
    elif config is not None:
        stream.venue(config.text, config.source, None)
    else:
        stream.venue(None, source, ACCEPTANCE_TICK)
        stream.names(ref.symbols(), ref.account_names())
    journal.sync()
    return Venue(ref, book, journal, stream)


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
            from fix_gateway.orders import OrderEntry
            self.orders = OrderEntry(venue.ref, venue.submit, **self._reject_text())
            on_app, on_logon, on_logout = self._on_application, None, self._on_logout
        for s in settings.sessions:
            session = Session(s, MessageStore(store_dir, _file_name(s.name)),
                              on_application=on_app, on_logon=on_logon, on_logout=on_logout)
            self.sessions[s.name] = session
            if s.account is not None:
                self.by_account.setdefault(s.account, []).append(session)
            for account in s.drop_copy:
                self.drop_copies.setdefault(account, []).append(session)
        self.acceptor = Acceptor(self.sessions.values(), clock=clock,
                                 before_send=venue.make_durable if venue else None)

    def _reject_text(self) -> dict:
        detail = getattr(self.venue.book, "reject_detail", None)
        return {"reject_text": detail} if detail is not None else {}

    # ------------------------------------------------------------ application

    def _account_index(self, session: Session) -> int:
        name = session.settings.account
        return -1 if name is None else self.venue.ref.account(name)

    def _on_application(self, session: Session, msg) -> None:
        from fix_gateway.orders import Inbound
        now = self.clock()
        if session.settings.account is None:     # a drop copy sends no orders
            session.business_reject(msg, 6, "Not authorized: drop copy session", now)
            return
        body = [f for f in msg.fields if f[0] not in _HEADER_AND_TRAILER]
        inbound = Inbound(session.name, self._account_index(session), session.begin_string,
                          msg.msg_type, body, int(msg.get(34)))
        self._route(self.orders.on_message(inbound, now), now)

    def _on_logout(self, session: Session) -> None:
        if session.settings.cancel_on_disconnect and session.settings.account is not None:
            now = self.clock()
            self._route(self.orders.on_disconnect(session.name, self._account_index(session),
                                                  now), now)
            self.acceptor.request_flush()

    def _route(self, outbound, now: int) -> None:
        ref = self.venue.ref
        for out in outbound:
            if out.session is not None:
                targets = [self.sessions[out.session]]
            else:
                targets = self.by_account.get(ref.account_name(out.account), [])
            for session in targets:
                session.send(out.msg_type, out.body, now)
            if out.msg_type == b"8" and out.account >= 0:
                for session in self.drop_copies.get(ref.account_name(out.account), ()):
                    session.send(b"8", out.body, now)

    # ------------------------------------------------------------ running

    async def serve(self, host: str, port: int, tls: ssl.SSLContext | None = None,
                    ready: Callable[[int], None] | None = None) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        bound = await self.acceptor.start(host, port, ssl=tls)
        if ready is not None:
            ready(bound)
        try:
            await stop.wait()
        finally:
            await self.acceptor.stop()
            for session in self.sessions.values():
                session.store.close()
            if self.venue is not None:
                self.venue.close()


_HEADER_AND_TRAILER = frozenset((8, 9, 35, 49, 56, 115, 128, 90, 91, 34, 50, 142, 57, 143, 116,
                                 144, 129, 145, 43, 97, 52, 122, 212, 213, 347, 369, 370, 627,
                                 628, 629, 630, 10, 93, 89))


def _file_name(session_name: str) -> str:
    return session_name.replace(":", "-").replace(">", "").replace("/", "_")


def run(config_path: str | None, profile: str, host: str | None, port: int | None,
        journal: str | None, durability: str, out=sys.stdout) -> int:
    """`oms serve`: build the gateway, warm the kernels, listen until a signal."""
    if profile == "default":
        config = load_config(config_path)
        settings = gateway_settings(config)
        journal = journal or settings.journal
    else:
        config = None
        settings = GatewaySettings(sender_comp_id="ISLD", sessions=acceptance_sessions())
    host = host or settings.host
    port = settings.port if port is None else port
    echo = profile == "acceptance-echo"
    venue = None if echo else open_venue(config, journal, durability, f"oms serve --profile {profile}")
    store_dir = str(Path(journal) / "fix-sessions") if journal else None
    gateway = Gateway(settings, venue, echo=echo, store_dir=store_dir)
    tls = None
    if settings.tls_certificate:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(settings.tls_certificate, settings.tls_key)

    def ready(bound: int) -> None:
        names = ", ".join(gateway.sessions)
        print(f"oms serve: profile {profile}, listening on {host}:{bound}"
              f"{' (TLS)' if tls else ''}; sessions {names}"
              f"{'; journal ' + journal if journal and venue else ''}", file=out, flush=True)

    asyncio.run(gateway.serve(host, port, tls, ready))
    print("oms serve: stopped; sessions logged out, journal closed", file=out, flush=True)
    return 0
