"""Restarting `oms serve` on its journal: the book, the risk usage and the
gateway's own order state (ClOrdIDs, cumulative quantities) as they were.

The journal holds every FIX application message the gateway received
(INBOUND records; an empty one where a session's connection dropped and its
orders were cancelled on disconnect; the Logon of each sequence reset) and, after each, the commands it caused
with their events.
Recovery verifies the journal (`reporting.reader.scan`), then reads the
messages again through a fresh `OrderEntry` in front of a fresh venue: each
command the gateway asks for must be, byte for byte, the journaled one, and
the book's events must be the journaled events; anything else is a
`JournalError` and the server refuses to start. The answers were sent before
the restart (and are in the sessions' stores), so they are not sent again.

A crash can cut a message's processing short: its INBOUND record is in the
journal but not all of its commands. Such a message (only ever the last one)
is finished now, its new commands journaled and its answers sent. It can
also stop after a turn's journal sync but before the sessions' stores were
written: the messages the stores do not count as received had their
commands journaled but their answers never sent; they are sent now, and the
sessions' expected MsgSeqNum moves past them (the client must not send them
again).
Commands that no message caused (none yet; an operator's, later) run as
they are.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from reporting.reader import JournalError, records
from reporting.records import CommandRecord, EventsRecord, InboundRecord, VoidRecord, decode


@dataclass
class Recovered:
    messages: int = 0           # INBOUND records read again
    commands: int = 0           # commands run again
    finished: int = 0           # commands of a cut-short message, run and journaled now
    answered: int = 0           # journaled messages whose answers had not left: sent now


def recover(directory, gateway) -> Recovered:
    """Bring `gateway` (fresh, built on the journal's venue) to the journal's state."""
    from fix_gateway.codec import decode as decode_fix
    from fix_gateway.orders import Inbound
    from fix_gateway.session import NOT_BODY
    venue = gateway.venue
    items = _items(directory)
    # messages the sessions' stores do not count as received: the process
    # stopped between the journal's sync and the stores' write, so their
    # answers never left. They are sent now.
    unanswered_from = {name: s.store.next_target for name, s in gateway.sessions.items()}
    current_from = _last_resets(items)         # where each session's numbering starts
    done = Recovered()
    i = 0
    while i < len(items):
        item = items[i]
        if not isinstance(item, InboundRecord):
            _run(venue, item)
            done.commands += 1
            i += 1
            continue
        j = i + 1
        while j < len(items) and not isinstance(items[j], InboundRecord):
            j += 1
        expected = deque(items[i + 1:j])
        session = gateway.sessions.get(item.session)
        if session is None or session.settings.account is None:
            raise JournalError(f"a message of session {item.session}, which the configuration "
                               "no longer has as an order-entry session")
        account = gateway.account_index(session)
        venue.replaying = expected
        before = venue.finished
        seq = 0
        try:
            if item.message and _is_logon(item.message):
                outbound = ()                       # a sequence reset: nothing for the book
            elif item.message:
                msg = decode_fix(item.message, check=False)
                body = [f for f in msg.fields if f[0] not in NOT_BODY]
                seq = int(msg.get(34) or 0)
                inbound = Inbound(session.name, account, session.begin_string, msg.msg_type,
                                  body, seq)
                outbound = gateway.orders.on_message(inbound, item.received)
            else:                                   # the connection dropped
                outbound = gateway.orders.on_disconnect(session.name, account, item.received)
        finally:
            venue.replaying = None
        done.messages += 1
        done.commands += j - i - 1 - len(expected)
        if expected:
            raise JournalError(f"a message of {item.session} caused fewer commands on "
                               "replay than the journal holds after it")
        if venue.finished > before:                 # cut short by a crash: finish it now
            if j < len(items):
                raise JournalError(f"a message of {item.session} in the middle of the "
                                   "journal lacks commands it causes")
            done.finished += venue.finished - before
            gateway.route(outbound, item.received)
        elif i >= current_from.get(session.name, 0):
            if seq and seq >= unanswered_from[session.name]:
                gateway.route(outbound, item.received)
                done.answered += 1
            if seq >= session.store.next_target:
                session.store.set_next_target(seq + 1)
        i = j
    return done


def _run(venue, pair) -> None:
    """A journaled command no message caused, run as it is; same events or refuse."""
    command, events = pair
    if venue.book.submit_raw(command) != events:
        raise JournalError("a journaled command gives other events than the journal holds")


def _is_logon(message: bytes) -> bool:
    return b"\x0135=A\x01" in message[:40]


def _last_resets(items: list) -> dict[str, int]:
    """Per session, the index of its last journaled reset Logon (0: none)."""
    last: dict[str, int] = {}
    for i, item in enumerate(items):
        if isinstance(item, InboundRecord) and item.message and _is_logon(item.message):
            last[item.session] = i
    return last


def _items(directory) -> list:
    """The journal's INBOUND records and (command, events) pairs, in order;
    voided commands left out."""
    items: list = []
    pending = None
    for number, payload in records(directory):
        rec = decode(payload)
        if isinstance(rec, InboundRecord):
            items.append(rec)
        elif isinstance(rec, CommandRecord):
            pending = bytes(rec.command)
        elif isinstance(rec, EventsRecord):
            items.append((pending, bytes(rec.events)))
            pending = None
        elif isinstance(rec, VoidRecord):
            pending = None
    return items

