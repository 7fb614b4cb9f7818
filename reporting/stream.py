"""The engine's stream into the journal, and back out of it.

`StreamWriter` writes the records of `reporting.records` for commands run
through either door of the engine (or the risk gate in front of it):
`command` for one command and its events as msgpack bytes (the per-command
door), `chunk` for a chunk of the batch door. `read_stream` reads a journal
back as its venue and its (command, events) pairs; rebuilding an engine from
them is the job of the layer that owns both (`oms.rebuild`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from engine import msgpack_kernels as mp
from engine.batch import array_to_commands

from .format import ZERO_HASH, chain
from .journal import Journal
from .reader import JournalError, read_range, scan
from .records import (CommandRecord, EventsRecord, Names, Venue, VoidRecord, command_record,
                      decode, events_record, names_record, venue_record, void_record)

_encode_command = mp.COMMAND_ENCODER.encode


class StreamWriter:
    """Commands and their events into `journal`, after the venue record."""

    def __init__(self, journal: Journal):
        self.journal = journal
        self._out = np.zeros(mp.bytes_needed(256), np.uint8)

    def venue(self, config_text: str | None, source: str, tick: str | None) -> None:
        self.journal.append(venue_record(config_text, source, tick))

    def names(self, symbols: list[str], accounts: list[str]) -> None:
        self.journal.append(names_record(symbols, accounts))

    def command(self, command: bytes, events: bytes) -> int:
        """One command (msgpack) and its events (the msgpack array), in one
        append (one sync); returns the number of the events record."""
        n = self.journal.records
        self.journal.append_many([command_record(command), events_record(n, events)])
        return n + 1

    def void_trailing_command(self) -> int | None:
        """After a crash: if the journal ends with a COMMAND without its
        EVENTS, void it (see `reporting.records`); returns its number."""
        n = self.journal.records
        # opening the journal verified it: read back only its last record
        last = read_range(self.journal.directory, n - 1, n) if n else []
        if not last or not isinstance(decode(last[0][1]), CommandRecord):
            return None
        self.journal.append(void_record(n - 1))
        self.journal.sync()
        return n - 1

    def chunk(self, cmds: np.ndarray, rows: np.ndarray, first_row: np.ndarray) -> int:
        """The commands of a batch-door chunk with their event rows (`first_row[i]`:
        the row where command i's events begin). Returns the last record number."""
        payloads = chunk_records(cmds, rows, first_row, self.journal.records, self)
        return self.journal.append_many(payloads) + len(payloads) - 1

    def buffer(self, rows: int) -> np.ndarray:
        """A scratch buffer for `rows` event rows as msgpack."""
        need = mp.bytes_needed(rows)
        if need > len(self._out):
            self._out = np.zeros(2 * need, np.uint8)
        return self._out


def chunk_records(cmds: np.ndarray, rows: np.ndarray, first_row: np.ndarray, number: int,
                  scratch: StreamWriter) -> list[bytes]:
    """The COMMAND and EVENTS payloads of a batch-door chunk, the first to be
    record `number`."""
    structs = array_to_commands(cmds)
    bounds = np.append(first_row[:len(cmds)], len(rows))
    payloads = []
    for i, cmd in enumerate(structs):
        a, b = int(bounds[i]), int(bounds[i + 1])
        out = scratch.buffer(b - a)
        n = mp.encode_rows(rows, a, b, out)
        payloads.append(command_record(_encode_command(cmd)))
        payloads.append(events_record(number + 2 * i, bytes(out[:n])))
    return payloads


# ------------------------------------------------------------------ reading back

@dataclass
class Stream:
    """A journal's stream: the venue, and (command, events) payload pairs."""
    venue: Venue
    names: Names | None
    pairs: list[tuple[int, bytes, bytes]]        # (command record number, command, events)
    records: int = 0                             # records read
    chain_head: bytes = b""                      # the chain hash of the last one


def read_stream(directory: str | os.PathLike, upto: int | None = None,
                progress=None) -> Stream:
    """Verify the journal and split its first `upto` records (all by default)
    into its venue and command/event pairs."""
    venue, names, pairs, pending = None, None, [], None
    head = ZERO_HASH

    def on_record(number: int, payload: bytes) -> None:
        nonlocal venue, names, pending, head
        if upto is not None:
            if number >= upto:
                return
            head = chain(head, number, payload)     # the head at `upto` (scan gives the last)
        try:
            rec = decode(payload)
        except ValueError:
            raise JournalError("not a journal record", record=number) from None
        if isinstance(rec, Venue):
            if number != 0:
                raise JournalError("a venue record after the first", record=number)
            venue = rec
        elif number == 0:
            raise JournalError("the first record is not the venue", record=number)
        elif isinstance(rec, Names):
            names = rec
        elif isinstance(rec, CommandRecord):
            if pending is not None:
                raise JournalError("a command without its events", record=pending[0])
            pending = (number, bytes(rec.command))
        elif isinstance(rec, EventsRecord):
            if pending is None or rec.command_record != pending[0]:
                raise JournalError("events of no command before them", record=number)
            pairs.append((pending[0], pending[1], bytes(rec.events)))
            pending = None
        elif isinstance(rec, VoidRecord):
            if pending is None or rec.command_record != pending[0]:
                raise JournalError("a void of no command before it", record=number)
            pending = None

    found = scan(directory, on_record, progress=progress)
    if venue is None:
        raise JournalError("empty journal: no venue record")
    if upto is not None and upto > found.records:
        raise JournalError(f"asked for {upto} records, the journal holds {found.records}")
    if upto is None:
        return Stream(venue, names, pairs, found.records, found.chain_head)
    return Stream(venue, names, pairs, upto, head)
