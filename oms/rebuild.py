"""Rebuilding an engine from a journal: the venue it ran on, and its commands
replayed (`replay_check`: byte for byte the journaled events)."""
from __future__ import annotations

import os
from dataclasses import dataclass

from engine.config import parse_config
from engine.matching import MatchingEngine
from engine.refdata import ReferenceData
from reporting.exports import reference_of
from reporting.stream import Stream, read_stream


def venue_of(stream: Stream) -> tuple[ReferenceData, object]:
    """(reference data, the engine or risk gate) of a journal's venue, empty."""
    v = stream.venue
    if v.config is not None:
        from risk.gate import RiskGate
        config = parse_config(v.config, v.source)
        ref = ReferenceData.from_config(config)
        return ref, RiskGate(config, ref=ref)
    ref = reference_of(stream)
    return ref, MatchingEngine(ref.book_specs(), ref.account_specs())


@dataclass
class CheckResult:
    commands: int
    differences: list[tuple[int, bytes, bytes]]     # (command record, journaled, replayed)


def replay_check(directory: str | os.PathLike, limit: int = 10, progress=None) -> CheckResult:
    """Run the journal's commands through a fresh engine of its venue and
    compare every command's events with the journaled ones, byte for byte."""
    stream = read_stream(directory, progress=progress)
    _, book = venue_of(stream)
    differences = []
    for number, command, events in stream.pairs:
        replayed = book.submit_raw(command)
        if replayed != events and len(differences) < limit:
            differences.append((number, events, replayed))
    return CheckResult(len(stream.pairs), differences)



def rebuild(directory: str | os.PathLike) -> tuple[ReferenceData, object, Stream]:
    """The engine (or risk gate) in the state the journal describes: its venue,
    with every journaled command run again. (reference data, book, stream)."""
    stream = read_stream(directory)
    ref, book = venue_of(stream)
    for _, command, _ in stream.pairs:
        book.submit_raw(command)
    return ref, book, stream
