"""Restarting `oms serve` on its journal: the book, the risk usage and the
gateway's own order state (ClOrdIDs, cumulative quantities) as they were.

The journal holds every FIX application message the gateway received
(INBOUND records; an empty one where a session's connection dropped and its
orders were cancelled on disconnect) and, after each, the commands it caused
with their events.
Recovery verifies the journal (`reporting.reader.scan`), then reads the
messages again through a fresh `OrderEntry` in front of a fresh venue: each
command the gateway asks for must be, byte for byte, the journaled one, and
the book's events must be the journaled events; anything else is a
`JournalError` and the server refuses to start. The answers were sent before
the restart (and are in the sessions' stores), so they are not sent again.

A crash can cut a message's processing short: its INBOUND record is in the
journal but not all of its commands. Such a message (only ever the last one)
is finished now, its new commands journaled and its answers sent.
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


def recover(directory, gateway) -> Recovered:
    """Bring `gateway` (fresh, built on the journal's venue) to the journal's state."""
    from fix_gateway.codec import decode as decode_fix
    from fix_gateway.orders import Inbound
    from fix_gateway.session import NOT_BODY
    venue = gateway.venue
    items = _items(directory)
    done = Recovered()
    i = 0
    while i < len(items):
        item = items[i]
        if not isinstance(item, InboundRecord):
            venue.book.submit_raw(item[0])
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
        try:
            if item.message:
                msg = decode_fix(item.message, check=False)
                body = [f for f in msg.fields if f[0] not in NOT_BODY]
                inbound = Inbound(session.name, account, session.begin_string, msg.msg_type,
                                  body, int(msg.get(34) or 0))
                outbound = gateway.orders.on_message(inbound, item.received)
            else:                                   # the connection dropped
                outbound = gateway.orders.on_disconnect(session.name, account, item.received)
        finally:
            venue.replaying = None
        done.messages += 1
        done.commands += j - i - 1 - len(expected)
        if venue.finished > before:                 # cut short by a crash: finish it now
            done.finished += venue.finished - before
            gateway.route(outbound, item.received)
        for cmd, _ in expected:                     # journaled but not asked for again
            venue.book.submit_raw(cmd)
            done.commands += 1
        i = j
    return done


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

