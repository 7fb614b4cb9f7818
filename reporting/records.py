"""What the journal's records say: the venue, each command, each command's events.

Every payload is one msgpack array whose first element is the record kind:

* ``[1, config, source, tick]`` VENUE, the first record: the configuration's
  TOML text (and where it came from), or, for an open-ended venue (``oms
  replay --tick``), None and the tick size. A reader rebuilds the same venue
  from it.
* ``[4, symbols, accounts]`` NAMES: an open-ended venue's instruments and
  accounts in index order, before the first command that uses them.
* ``[2, command]`` COMMAND: the command as the engine took it (an engine
  command: ``[kind, order_id, ...]`` as `engine.commands` encodes it; a risk
  command: a map with its ``kind`` name), stamped with the time it was given.
* ``[3, command_record, events]`` EVENTS: the number of the COMMAND record
  and the list of events it caused, byte for byte as the engine wrote them
  (`engine.events`; the first two fields of each are its sequence number and
  time).
* ``[5, command_record]`` VOID: the COMMAND before it never ran. A crash
  can leave a COMMAND at the end of the journal without its EVENTS; that
  command was never acknowledged, so on restart the writer voids it (its
  sender will send it again) rather than run it behind the sender's back.

* ``[6, session, received, message]`` INBOUND: a FIX application message as
  the gateway received it (the raw bytes, BeginString to CheckSum), the
  session it came on (``FIX.4.4:OMS->ALICE``) and when (ns since the epoch,
  the time its commands carry); an empty message where the session's
  connection dropped (its cancel-on-disconnect follows); the Logon of a
  sequence reset. Written before the
  COMMANDs it causes, so the
  journal holds what each trader actually sent, and a restart rebuilds the
  gateway's own state (ClOrdIDs) by reading the messages again.

A COMMAND is always followed by its EVENTS (or a VOID); the pair is written
in one go and is what the write-ahead rule is about: both are in the journal
before the command's acknowledgement leaves the process.
"""
from __future__ import annotations

from enum import IntEnum

import msgspec

__all__ = ["RecordKind", "venue_record", "names_record", "command_record", "events_record",
           "void_record", "inbound_record", "decode"]


class RecordKind(IntEnum):
    VENUE = 1
    COMMAND = 2
    EVENTS = 3
    NAMES = 4
    VOID = 5
    INBOUND = 6


_encode = msgspec.msgpack.Encoder().encode
_decode_any = msgspec.msgpack.Decoder().decode


class _Head(msgspec.Struct, array_like=True):
    kind: int


_decode_head = msgspec.msgpack.Decoder(_Head).decode


class Venue(msgspec.Struct, array_like=True, frozen=True):
    kind: int
    config: str | None
    source: str
    tick: str | None


class Names(msgspec.Struct, array_like=True, frozen=True):
    kind: int
    symbols: list[str]
    accounts: list[str]


class CommandRecord(msgspec.Struct, array_like=True, frozen=True):
    kind: int
    command: msgspec.Raw


class EventsRecord(msgspec.Struct, array_like=True, frozen=True):
    kind: int
    command_record: int
    events: msgspec.Raw


class VoidRecord(msgspec.Struct, array_like=True, frozen=True):
    kind: int
    command_record: int


class InboundRecord(msgspec.Struct, array_like=True, frozen=True):
    kind: int
    session: str
    received: int
    message: bytes


_DECODERS = {
    RecordKind.VENUE: msgspec.msgpack.Decoder(Venue).decode,
    RecordKind.NAMES: msgspec.msgpack.Decoder(Names).decode,
    RecordKind.COMMAND: msgspec.msgpack.Decoder(CommandRecord).decode,
    RecordKind.EVENTS: msgspec.msgpack.Decoder(EventsRecord).decode,
    RecordKind.VOID: msgspec.msgpack.Decoder(VoidRecord).decode,
    RecordKind.INBOUND: msgspec.msgpack.Decoder(InboundRecord).decode,
}


def venue_record(config: str | None, source: str, tick: str | None) -> bytes:
    return _encode(Venue(int(RecordKind.VENUE), config, source, tick))


def names_record(symbols: list[str], accounts: list[str]) -> bytes:
    return _encode(Names(int(RecordKind.NAMES), symbols, accounts))


def command_record(command: bytes) -> bytes:
    """`command`: the command's msgpack encoding."""
    return _encode(CommandRecord(int(RecordKind.COMMAND), msgspec.Raw(command)))


def events_record(command_record_number: int, events: bytes) -> bytes:
    """`events`: the msgpack array of the command's events, as the engine wrote it."""
    return _encode(EventsRecord(int(RecordKind.EVENTS), command_record_number,
                                msgspec.Raw(events)))


def void_record(command_record_number: int) -> bytes:
    return _encode(VoidRecord(int(RecordKind.VOID), command_record_number))


def inbound_record(session: str, received: int, message: bytes) -> bytes:
    return _encode(InboundRecord(int(RecordKind.INBOUND), session, received, message))


def decode(payload: bytes):
    """The record as its struct (`Venue`, `Names`, `CommandRecord`, `EventsRecord`)."""
    try:
        kind = RecordKind(_decode_head(payload).kind)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
        raise ValueError("not a journal record") from None
    return _DECODERS[kind](payload)
