"""`oms journal verify|stats|tail|replay`: a journal directory from the outside.

verify   checks framing, CRCs, the chain, seals, Merkle roots and HEAD; exit 0
         if intact, 1 naming the first bad record (a torn tail from a crash
         counts: opening the journal would cut it off)
stats    what the journal holds
tail     the last records as JSON lines; -f follows new ones
replay   --check: the commands, run again on a fresh engine of the journal's
         venue, must give the journaled events byte for byte
"""
from __future__ import annotations

import json
import sys
import time
from collections import Counter

import msgspec

from engine import msgpack_kernels as mp
from engine.commands import AnyCommand
from engine.events import EVENT_TYPES
from reporting.reader import JournalError, scan
from reporting.records import (CommandRecord, EventsRecord, InboundRecord, Names, Venue,
                               VoidRecord, decode)
from risk.commands import KillSwitch, NewTradingDay, SetAccountState, SetLimit

EXIT_BAD = 1


def progress_bar(what: str):
    """A `progress(done, total)` that redraws one line on a terminal's stderr
    (None elsewhere, so that logs and pipes stay clean)."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done == total else ""
        print(f"\r{what}: segment {done}/{total}", end=end, file=sys.stderr, flush=True)
    return show
_ANY = msgspec.msgpack.Decoder()


def verify(directory: str, out=sys.stdout) -> int:
    try:
        found = scan(directory, progress=progress_bar("verifying"))
    except JournalError as exc:
        print(f"oms: journal {directory}: {exc}", file=sys.stderr)
        return EXIT_BAD
    if found.torn_bytes:
        last = found.segments[-1]
        print(f"oms: journal {directory}: segment {last.path.name}, offset {last.end}, record "
              f"{found.records}: torn tail of {found.torn_bytes} bytes (a write cut short by "
              f"a crash; opening the journal cuts it off)", file=sys.stderr)
        return EXIT_BAD
    state = "closed" if found.closed else "open (not closed cleanly, or still being written)"
    print(f"intact: {found.records:,} records in {len(found.segments)} segments, {state}; "
          f"chain head {found.chain_head.hex()}", file=out)
    return 0


def stats(directory: str, as_json: bool = False, out=sys.stdout) -> int:
    kinds: Counter = Counter()
    events: Counter = Counter()
    first_ts = last_ts = None

    def on_record(number, payload):
        nonlocal first_ts, last_ts
        rec = decode(payload)
        kinds[type(rec).__name__] += 1
        if isinstance(rec, EventsRecord):
            for ev in _ANY.decode(bytes(rec.events)):
                events[EVENT_TYPES[ev[0]].__name__ if isinstance(ev, list) else ev["kind"]] += 1
                ts = ev[2] if isinstance(ev, list) else ev.get("ts")
                first_ts = ts if first_ts is None else first_ts
                last_ts = ts
    try:
        found = scan(directory, on_record, progress=progress_bar("reading"))
    except JournalError as exc:
        print(f"oms: journal {directory}: {exc}", file=sys.stderr)
        return EXIT_BAD
    figures = {
        "records": found.records, "segments": len(found.segments),
        "bytes": sum(s.path.stat().st_size for s in found.segments),
        "closed": found.closed, "chain_head": found.chain_head.hex(),
        "commands": kinds["CommandRecord"], "events": sum(events.values()),
        "events_by_kind": dict(sorted(events.items())),
        "first_ts": first_ts, "last_ts": last_ts,
    }
    if as_json:
        print(json.dumps(figures), file=out)
    else:
        for key, value in figures.items():
            print(f"{key:<16}{value}", file=out)
    return 0


def render(number: int, payload: bytes) -> dict:
    """One record as plain data, for people and `jq`."""
    rec = decode(payload)
    if isinstance(rec, Venue):
        return {"record": number, "type": "venue", "source": rec.source, "tick": rec.tick}
    if isinstance(rec, Names):
        return {"record": number, "type": "names", "symbols": rec.symbols,
                "accounts": rec.accounts}
    if isinstance(rec, CommandRecord):
        return {"record": number, "type": "command", "command": _command(bytes(rec.command))}
    if isinstance(rec, VoidRecord):
        return {"record": number, "type": "void", "command_record": rec.command_record}
    if isinstance(rec, InboundRecord):
        return {"record": number, "type": "inbound", "session": rec.session,
                "received": rec.received,
                "message": rec.message.replace(b"\x01", b"|").decode("latin-1")}
    events = mp.EVENT_DECODER.decode(bytes(rec.events)) if isinstance(rec, EventsRecord) else []
    return {"record": number, "type": "events", "command_record": rec.command_record,
            "events": [{"event": type(e).__name__, **msgspec.structs.asdict(e)} for e in events]}


_DECODERS = (msgspec.msgpack.Decoder(AnyCommand),       # arrays
             msgspec.msgpack.Decoder(SetLimit | SetAccountState | KillSwitch | NewTradingDay))


def _command(raw: bytes):
    for decoder in _DECODERS:
        try:
            cmd = decoder.decode(raw)
            break
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
    else:
        return _ANY.decode(raw)
    return {"command": type(cmd).__name__, **msgspec.structs.asdict(cmd)}


def tail(directory: str, count: int = 10, follow: bool = False, out=sys.stdout,
         interval: float = 0.5) -> int:
    seen = 0
    try:
        while True:
            rows: list = []
            found = scan(directory, lambda n, p: rows.append((n, p)) if n >= seen else None)
            start = max(seen, found.records - count) if seen == 0 else seen
            for number, payload in rows:
                if number >= start:
                    print(json.dumps(render(number, payload)), file=out, flush=True)
            seen = found.records
            if not follow:
                return 0
            time.sleep(interval)
    except JournalError as exc:
        print(f"oms: journal {directory}: {exc}", file=sys.stderr)
        return EXIT_BAD


def replay(directory: str, check: bool, out=sys.stdout) -> int:
    from .rebuild import replay_check
    if not check:
        print("oms: journal replay: give --check (replaying for its own sake changes nothing)",
              file=sys.stderr)
        return 2
    try:
        result = replay_check(directory, progress=progress_bar("reading"))
    except JournalError as exc:
        print(f"oms: journal {directory}: {exc}", file=sys.stderr)
        return EXIT_BAD
    if result.differences:
        for number, journaled, replayed in result.differences:
            print(f"command record {number}: the journal has events {journaled.hex()}, the "
                  f"replay gives {replayed.hex()}", file=sys.stderr)
        print(f"oms: journal {directory}: replaying {result.commands} commands does not give "
              f"the journaled events", file=sys.stderr)
        return EXIT_BAD
    print(f"{result.commands:,} commands replayed: every event identical, byte for byte",
          file=out)
    return 0
