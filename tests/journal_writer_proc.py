"""A journal writer for the crash tests of `tests/test_journal_recovery.py`.

Run as a subprocess, it appends records under load and prints, one line each
and flushed, the numbers it acknowledges: a record (or, in ``stream``, a
command) is acknowledged only once ``journal.durable`` covers it, as a server
releases its acknowledgements. The test kills it with SIGKILL and checks that
every acknowledged record survived.

    raw DIR --mode M [--group-records N] [--group-micros T] [--segment-bytes B]
            [--max-records N] [--fsize-limit BYTES]
            [--kill-at create-head|roll-head|roll-empty|reopen-head|after-seal]
        records whose payload is `payload(n)` (a function of the record
        number only, so a journal written across restarts can be checked);
        prints ``open R`` (records found on opening), then each acknowledged
        record number.

    stream DIR --mode M --seed S [--max-commands N] [--kill-before-events K]
               [--kill-after-command K]
        a fresh journal: the venue record of the built-in configuration, then
        the commands of `commands(S)` through the risk gate's per-command door,
        each with its events (`reporting.stream.StreamWriter`); prints
        ``ack I`` for each command I whose EVENTS record is durable.

`--kill-*` make the process SIGKILL itself at one exact point, for the crash
windows a random kill rarely hits. `--fsize-limit` sets RLIMIT_FSIZE after the
journal is open, so that the kernel cuts a write short (as on a full disk).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def payload(n: int) -> bytes:
    """Record n's payload in the raw journals: 20 to ~420 bytes, all determined by n."""
    seed = hashlib.sha256(b"journal-recovery %d" % n).digest()
    length = 20 + int.from_bytes(seed[:2], "little") % 400
    body = (seed * (length // 32 + 1))[:length]
    return b"record %d:" % n + body


def commands(seed: int):
    """An endless, deterministic flow of engine commands for the built-in venue
    (AAPL and MSFT, its four accounts): new orders near the reference prices,
    cancels and replaces of earlier ones."""
    from engine.commands import Cancel, NewOrder, Replace
    from engine.enums import Side, TimeInForce
    rng = random.Random(seed)
    reference = {0: 18700, 1: 41500}          # AAPL 187.00, MSFT 415.00, in cents
    live: list[tuple[int, int]] = []          # (order id, instrument)
    ts = 34_200_000_000_000
    order_id = 0
    while True:
        ts += rng.randint(1_000, 400_000)
        r = rng.random()
        if r < 0.6 or len(live) < 5:
            order_id += 1
            b = rng.randrange(2)
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            price = reference[b] + rng.randint(-60, 60)
            tif = TimeInForce.IOC if rng.random() < 0.1 else TimeInForce.DAY
            live.append((order_id, b))
            yield NewOrder(order_id, b, rng.randrange(4), side, rng.randint(1, 300), price,
                           tif=tif, ts=ts)
        elif r < 0.85:
            oid, _ = live.pop(rng.randrange(len(live)))
            yield Cancel(oid, ts=ts)
        else:
            oid, b = live[rng.randrange(len(live))]
            yield Replace(oid, rng.randint(1, 400), reference[b] + rng.randint(-60, 60), ts=ts)
        if len(live) > 400:
            del live[:100]


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _install_kill(point: str) -> None:
    """Patch the journal so that the process kills itself at `point`."""
    from reporting import journal as jm
    write_head, pack_header = jm.Journal._write_head, jm.pack_header

    if point == "create-head":          # the first segment has its header, no HEAD exists
        def patched(self, closed):
            if not closed and self.segment == 1:
                _die()
            return write_head(self, closed)
        jm.Journal._write_head = patched
    elif point in ("roll-head", "reopen-head"):
        # a new segment has its header (fsync'ed), HEAD still names the one before
        def patched(self, closed):
            if not closed and self.segment >= 2:
                _die()
            return write_head(self, closed)
        jm.Journal._write_head = patched
    elif point == "after-seal":         # a segment sealed, the next not created yet
        start = jm.Journal._start_segment

        def patched_start(self):
            if self.segment >= 1:
                _die()
            return start(self)
        jm.Journal._start_segment = patched_start
    elif point == "roll-empty":         # the new segment's file exists, still empty
        def patched_header(segment, first, head):
            if segment >= 2:
                _die()
            return pack_header(segment, first, head)
        jm.pack_header = patched_header
    else:
        raise SystemExit(f"unknown kill point {point}")


def _emit(lines: list[str]) -> None:
    if lines:
        sys.stdout.write("".join(lines))
        sys.stdout.flush()


def run_raw(args) -> None:
    from reporting.journal import Journal
    if args.kill_at:
        _install_kill(args.kill_at)
    journal = Journal(args.dir, args.mode, group_records=args.group_records,
                      group_micros=args.group_micros, segment_bytes=args.segment_bytes)
    _emit([f"open {journal.records}\n"])
    if args.fsize_limit:
        import resource
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)     # EFBIG instead of death
        resource.setrlimit(resource.RLIMIT_FSIZE, (args.fsize_limit, args.fsize_limit))
    acked = journal.records
    for _ in range(args.max_records):
        journal.append(payload(journal.records))
        journal.poll()
        if journal.durable > acked:
            _emit([f"{n}\n" for n in range(acked, journal.durable)])
            acked = journal.durable
    journal.close()
    _emit([f"{n}\n" for n in range(acked, journal.durable)] + ["done\n"])


def run_stream(args) -> None:
    from engine import msgpack_kernels as mp
    from engine.config import load_config
    from reporting.journal import Journal
    from reporting.stream import StreamWriter
    from risk.gate import RiskGate
    config = load_config()
    gate = RiskGate(config)
    journal = Journal(args.dir, args.mode, group_records=args.group_records,
                      group_micros=args.group_micros)
    stream = StreamWriter(journal)
    stream.venue(config.text, config.source, None)
    encode = mp.COMMAND_ENCODER.encode
    if args.kill_before_events is not None:
        # StreamWriter.command appends the COMMAND and its EVENTS in one go; a
        # crash can still tear the write after the COMMAND's frame: model that
        # by writing (and syncing) the COMMAND of command `target` alone, then dying
        append_many, target = journal.append_many, args.kill_before_events
        state = {"commands": 0}

        def dying_append_many(payloads: list) -> int:
            if payloads and payloads[0][1:2] == b"\x02":
                if state["commands"] == target:
                    append_many(payloads[:1])
                    journal.sync()
                    _die()              # the EVENTS of command `target`: never written
                state["commands"] += 1
            return append_many(payloads)
        journal.append_many = dying_append_many
    _emit(["open\n"])
    pending: list[tuple[int, int]] = []       # (command index, its EVENTS record)
    flow = commands(args.seed)
    for i in range(args.max_commands):
        cmd = encode(next(flow))
        events = gate.submit_raw(cmd)
        pending.append((i, stream.command(cmd, events)))
        journal.poll()
        k = 0
        while k < len(pending) and pending[k][1] < journal.durable:
            k += 1
        if k:
            _emit([f"ack {j}\n" for j, _ in pending[:k]])
            del pending[:k]
        if args.kill_after_command is not None and i == args.kill_after_command:
            journal.sync()
            _emit([f"ack {j}\n" for j, _ in pending])
            _die()
    journal.close()
    _emit([f"ack {j}\n" for j, _ in pending] + ["done\n"])


def main(argv=None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=("raw", "stream"))
    p.add_argument("dir")
    p.add_argument("--mode", default="group")
    p.add_argument("--group-records", type=int, default=16)
    p.add_argument("--group-micros", type=int, default=300)
    p.add_argument("--segment-bytes", type=int, default=64 << 20)
    p.add_argument("--max-records", type=int, default=2_000_000)
    p.add_argument("--max-commands", type=int, default=2_000_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--fsize-limit", type=int)
    p.add_argument("--kill-at")
    p.add_argument("--kill-before-events", type=int)
    p.add_argument("--kill-after-command", type=int)
    args = p.parse_args(argv)
    (run_raw if args.what == "raw" else run_stream)(args)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(HERE))
    main()
