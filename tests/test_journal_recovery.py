"""The journal's durability and recovery: real files, real fsync, real SIGKILL.

* `Journal` itself: appending, closing and reopening, rolling segments, HEAD,
  and what `durable` means in each durability mode (an acknowledgement for
  record n may leave the process once ``durable > n``);
* crashes: a writer process (`tests/journal_writer_proc.py`) appending under
  load is SIGKILLed at random moments and restarted; every record it
  acknowledged must be there, byte for byte, the journal must verify and
  appending must go on. Exact crash points (a segment roll, a command without
  its events, a short write) are forced by the writer killing itself there;
* torn tails are cut off with a warning naming the bytes; damage anywhere else
  refuses to open, naming segment, offset and record, and changes nothing;
* determinism: `oms replay --journal` twice gives the same bytes, `oms journal
  replay --check` passes, and a journal recovered after a crash rebuilds the
  same engine state as a clean run of the same commands.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
import warnings
from itertools import islice
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from journal_writer_proc import commands, payload  # noqa: E402

from reporting.format import (FOOTER, FRAME_HEAD, HASH_SIZE, HEADER, chain, frame,  # noqa: E402
                             pack_footer)
from reporting.journal import Journal, TornTail  # noqa: E402
from reporting.reader import JournalError, records, scan  # noqa: E402

HELPER = HERE / "journal_writer_proc.py"
DEMO_FLOW = ROOT / "oms" / "data" / "demo_flow.csv"
SEG1, SEG2, SEG3 = "000000000001.seg", "000000000002.seg", "000000000003.seg"


# ------------------------------------------------------------------ helpers

class _Crash(Exception):
    pass


def unclosed(directory, count: int, first: int = 0, **options) -> None:
    """`count` records written and the journal left without closing it, as a
    crash after the last write leaves it (the context manager's error path)."""
    with pytest.raises(_Crash):
        with Journal(directory, **options) as j:
            for n in range(first, first + count):
                assert j.append(payload(n)) == n
            raise _Crash


def payloads(directory) -> list[bytes]:
    return [p for _, p in records(directory)]


def assert_payloads(directory, count: int) -> None:
    got = payloads(directory)
    assert len(got) == count
    for n, p in enumerate(got):
        assert p == payload(n), f"record {n} differs"


def open_warned(directory, *args, **kw) -> tuple[Journal, list[str]]:
    """Open a journal, returning the TornTail warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        j = Journal(directory, *args, **kw)
    torn = [str(w.message) for w in caught if issubclass(w.category, TornTail)]
    return j, torn


def frame_offsets(path: Path) -> list[int]:
    """Where each frame of a segment starts."""
    data = path.read_bytes()
    out, pos = [], HEADER.size
    while pos < len(data) and data[pos:pos + 4] != b"OMSJ":
        out.append(pos)
        pos += FRAME_HEAD.size + FRAME_HEAD.unpack_from(data, pos)[0] + HASH_SIZE
    return out


def patch_bytes(path: Path, offset: int, xor: int) -> None:
    os.chmod(path, 0o644)                   # sealed segments are read-only
    data = bytearray(path.read_bytes())
    data[offset] ^= xor
    path.write_bytes(bytes(data))


def append_bytes(path: Path, extra: bytes) -> None:
    os.chmod(path, 0o644)
    with open(path, "ab") as f:
        f.write(extra)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(Path(directory).iterdir())}


def head(directory) -> dict:
    text = (Path(directory) / "HEAD").read_text("utf-8")
    assert text.endswith("\n") and text.count("\n") == 1
    return json.loads(text)


class SyncSpy:
    """os.fdatasync / os.fsync that note the file's size when they ran."""

    def __init__(self, monkeypatch):
        self.datasyncs: list[int] = []
        self.fsyncs: list[int] = []
        real_datasync, real_fsync = os.fdatasync, os.fsync

        def fdatasync(fd):
            self.datasyncs.append(os.fstat(fd).st_size)
            real_datasync(fd)

        def fsync(fd):
            self.fsyncs.append(os.fstat(fd).st_size)
            real_fsync(fd)
        monkeypatch.setattr(os, "fdatasync", fdatasync)
        monkeypatch.setattr(os, "fsync", fsync)


class Clock:
    def __init__(self):
        self.now = 0

    def __call__(self) -> int:
        return self.now


def frame_size(n: int) -> int:
    return FRAME_HEAD.size + len(payload(n)) + HASH_SIZE


# ------------------------------------------------------------------ Journal: lifecycle

def test_append_close_and_reopen_into_a_new_segment(tmp_path):
    d = tmp_path / "j"
    j = Journal(d, "none")
    assert [j.append(payload(n)) for n in range(10)] == list(range(10))
    j.close()
    assert j.closed and j.durable == 10
    with pytest.raises(JournalError):
        j.append(b"after close")
    assert sorted(os.listdir(d)) == [SEG1, "HEAD"]
    assert stat.S_IMODE(os.stat(d / SEG1).st_mode) & 0o222 == 0      # sealed: read-only
    found = scan(d)
    assert found.closed and found.records == 10 and found.segments[0].sealed
    assert head(d) == {"format": "oms-journal 1", "segment": 1, "closed": True,
                       "records": 10, "chain_head": found.chain_head.hex()}

    j = Journal(d, "group")                 # a closed journal goes on in a new segment
    assert (j.records, j.durable, j.chain_head) == (10, 10, found.chain_head)
    assert sorted(os.listdir(d)) == [SEG1, SEG2, "HEAD"]
    assert (d / SEG2).stat().st_size == HEADER.size
    assert head(d) == {"format": "oms-journal 1", "segment": 2, "closed": False}
    for n in range(10, 15):
        assert j.append(payload(n)) == n
    j.close()
    found = scan(d)
    assert found.closed and [s.records for s in found.segments] == [10, 5]
    assert found.segments[1].first_record == 10
    assert_payloads(d, 15)

    Journal(d, "always").close()            # reopened and closed at once: an empty segment
    found = scan(d)
    assert found.closed and [s.records for s in found.segments] == [10, 5, 0]
    assert head(d)["records"] == 15 and head(d)["segment"] == 3


def test_an_unclosed_journal_goes_on_in_its_last_segment(tmp_path):
    d = tmp_path / "j"
    unclosed(d, 7, mode="group")
    found = scan(d)
    assert (found.records, found.torn_bytes, found.closed) == (7, 0, False)
    assert not found.segments[-1].sealed
    assert head(d) == {"format": "oms-journal 1", "segment": 1, "closed": False}
    j, torn = open_warned(d, "group")
    assert torn == [] and j.records == 7 and j.segment == 1
    for n in range(7, 12):
        j.append(payload(n))
    j.close()
    found = scan(d)                         # one segment, its seal over all 12 records
    assert found.closed and [s.records for s in found.segments] == [12]
    assert_payloads(d, 12)


def test_segments_roll_at_segment_bytes(tmp_path):
    d = tmp_path / "j"
    limit = 1500
    j = Journal(d, "group", segment_bytes=limit, group_records=1000)
    for n in range(60):
        before = j.segment
        j.append(payload(n))
        if j.segment != before:             # rolled: the sealed one is on disk
            assert j.durable == j.records == n + 1
            assert head(d) == {"format": "oms-journal 1", "segment": j.segment,
                               "closed": False}
        found = scan(d)                     # verifies at every step
        assert found.records <= n + 1 and len(found.segments) == j.segment
    j.close()
    found = scan(d)
    assert found.closed and found.records == 60
    assert len(found.segments) >= 6
    first = 0
    for seg in found.segments:
        assert seg.sealed and seg.first_record == first
        assert stat.S_IMODE(seg.path.stat().st_mode) & 0o222 == 0
        size = seg.path.stat().st_size - FOOTER.size
        if seg is not found.segments[-1]:
            # sealed once it reached the limit, not before
            assert size >= limit
            assert size - frame_size(first + seg.records - 1) < limit
        first += seg.records
    assert_payloads(d, 60)
    j = Journal(d, "none", segment_bytes=limit)
    for n in range(60, 70):
        j.append(payload(n))
    j.close()
    assert_payloads(d, 70)


def test_head_file(tmp_path):
    d = tmp_path / "j"
    j = Journal(d, "always", segment_bytes=600)
    assert head(d) == {"format": "oms-journal 1", "segment": 1, "closed": False}
    while j.segment == 1:
        j.append(payload(j.records))
    assert head(d) == {"format": "oms-journal 1", "segment": 2, "closed": False}
    j.close()
    h = head(d)
    assert set(h) == {"format", "segment", "closed", "records", "chain_head"}
    assert h["closed"] is True and h["segment"] == 2 and h["records"] == j.records
    assert h["chain_head"] == j.chain_head.hex() and len(h["chain_head"]) == 64
    assert h["chain_head"] == h["chain_head"].lower()
    assert not (d / "HEAD.tmp").exists()


def test_bad_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="durability mode"):
        Journal(tmp_path / "j", "sometimes")


# ------------------------------------------------------------------ Journal: durable

def test_always_mode_is_durable_after_every_append(tmp_path, monkeypatch):
    spy = SyncSpy(monkeypatch)
    d = tmp_path / "j"
    j = Journal(d, "always")
    end = HEADER.size
    for n in range(20):
        j.append(payload(n))
        end += frame_size(n)
        assert j.durable == j.records == n + 1
        assert len(spy.datasyncs) == n + 1 and spy.datasyncs[-1] == end
    j.poll()
    assert len(spy.datasyncs) == 20
    j.close()


def test_group_mode_syncs_every_group_records(tmp_path, monkeypatch):
    spy = SyncSpy(monkeypatch)
    clock = Clock()                         # time stands still: only the count matters
    d = tmp_path / "j"
    j = Journal(d, "group", group_records=4, group_micros=1000, clock=clock)
    end = HEADER.size
    for n in range(12):
        j.append(payload(n))
        end += frame_size(n)
        j.poll()
        if (n + 1) % 4:
            assert j.durable == 4 * ((n + 1) // 4)
        else:
            assert j.durable == n + 1 and spy.datasyncs[-1] == end
    assert len(spy.datasyncs) == 3
    j.append(payload(12))
    assert j.durable == 12 and (d / SEG1).stat().st_size == end     # still in memory
    j.sync()
    assert j.durable == 13 and len(spy.datasyncs) == 4
    j.poll()                                # nothing pending: no sync
    assert len(spy.datasyncs) == 4
    j.close()


def test_group_mode_syncs_after_group_micros_by_the_clock(tmp_path, monkeypatch):
    spy = SyncSpy(monkeypatch)
    clock = Clock()
    d = tmp_path / "j"
    j = Journal(d, "group", group_records=1000, group_micros=250, clock=clock)
    j.append(payload(0))
    assert j.durable == 0 and spy.datasyncs == []
    clock.now = 249_999
    j.poll()
    assert j.durable == 0 and spy.datasyncs == []
    clock.now = 250_000
    j.poll()
    assert j.durable == 1 and len(spy.datasyncs) == 1
    clock.now += 1
    j.append(payload(1))
    j.append(payload(2))
    j.poll()
    assert j.durable == 1 and len(spy.datasyncs) == 1
    clock.now += 250_000                    # the group is old enough: this append syncs it
    j.append(payload(3))
    assert j.durable == 4 and len(spy.datasyncs) == 2
    clock.now += 10 ** 9
    j.poll()                                # nothing pending
    assert len(spy.datasyncs) == 2
    j.close()


def test_group_mode_acknowledges_only_what_an_fsync_covered(tmp_path, monkeypatch):
    """Random appends, polls and clock steps: `durable` never covers a record
    that the last fdatasync (or a seal's fsync) did not have in the file."""
    spy = SyncSpy(monkeypatch)
    clock = Clock()
    rng = random.Random(7)
    d = tmp_path / "j"
    j = Journal(d, "group", group_records=5, group_micros=100, clock=clock,
                segment_bytes=5000)
    ends: list[tuple[int, int]] = []          # (segment, end offset) of each record
    size, segment = HEADER.size, 1
    durable = 0
    for n in range(300):
        clock.now += rng.choice((0, 0, 10_000, 60_000, 150_000))
        if rng.random() < 0.3:
            j.poll()
        else:
            syncs = len(spy.datasyncs) + len(spy.fsyncs)
            j.append(payload(n))
            size += frame_size(n)
            ends.append((segment, size))
            if j.segment != segment:
                segment, size = j.segment, HEADER.size
            if j.durable > durable:
                assert len(spy.datasyncs) + len(spy.fsyncs) > syncs
        assert durable <= j.durable <= j.records
        if j.durable > durable:
            seg, end = ends[j.durable - 1]
            synced = spy.datasyncs[-1] if seg == j.segment else None
            if synced is not None:
                assert synced >= end, f"record {j.durable - 1} acknowledged before its fsync"
            else:
                assert scan(d).records >= j.durable         # sealed: on disk with its seal
            durable = j.durable
        if j.records - j.durable >= 5:
            pytest.fail(f"{j.records - j.durable} records pending in a group of 5")
    j.close()
    assert j.durable == j.records


def test_none_mode_never_fsyncs_and_acknowledges_at_sync(tmp_path, monkeypatch):
    spy = SyncSpy(monkeypatch)
    d = tmp_path / "j"
    j = Journal(d, "none", buffer_bytes=1000)
    for n in range(10):
        j.append(payload(n))
    assert j.durable == 0
    assert (d / SEG1).stat().st_size > HEADER.size      # the full buffer was written...
    assert spy.datasyncs == []                          # ...never fsync'ed
    j.poll()
    assert j.durable == 0
    j.sync()
    assert j.durable == 10 and spy.datasyncs == []
    assert (d / SEG1).stat().st_size == HEADER.size + sum(frame_size(n) for n in range(10))
    j.append(payload(10))
    j.close()
    assert j.durable == 11 and spy.datasyncs == []
    assert_payloads(d, 11)


# ------------------------------------------------------------------ torn tails

def _next_frame(directory, n: int) -> bytes:
    """The frame record n would have (the journal holds records 0..n-1)."""
    return frame(payload(n), chain(scan(directory).chain_head, n, payload(n)))


def _flip(data: bytes, at: int) -> bytes:
    b = bytearray(data)
    b[at] ^= 0x01
    return bytes(b)


TORN = {
    "part of a frame header": lambda f: f[:5],
    "a frame header alone": lambda f: f[:FRAME_HEAD.size],
    "part of a payload": lambda f: f[:FRAME_HEAD.size + 9],
    "all but the last byte": lambda f: f[:-1],
    "a frame failing its CRC": lambda f: _flip(f, 4),
    "a frame failing its chain hash": lambda f: _flip(f, len(f) - 1),
    "zeros": lambda f: bytes(4096),
    "an impossible length": lambda f: b"\xff" * 13,
    "all but the last byte, then a zero": lambda f: f[:-1] + b"\0",
}


def _check_torn_tail(d: Path, extra: bytes, records_before: int, last: str) -> None:
    seg = d / last
    size = seg.stat().st_size
    append_bytes(seg, extra)
    for on_record in (None, lambda n, p: None):         # both of the reader's paths
        found = scan(d, on_record)
        assert (found.records, found.torn_bytes) == (records_before, len(extra))
    from oms import journal_cli
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert journal_cli.verify(str(d), out=io.StringIO()) == 1
    assert f"torn tail of {len(extra)} bytes" in err.getvalue()
    assert last in err.getvalue()

    j, torn = open_warned(d, "group")
    assert len(torn) == 1, torn
    assert f"{len(extra)} bytes" in torn[0] and last in torn[0]
    assert seg.stat().st_size == size                   # cut off, exactly
    assert j.records == records_before
    found = scan(d)
    assert (found.records, found.torn_bytes) == (records_before, 0)
    for n in range(records_before, records_before + 3):
        j.append(payload(n))
    j.close()
    assert scan(d).closed
    assert_payloads(d, records_before + 3)
    j, torn = open_warned(d, "none")
    assert torn == []
    j.close()


@pytest.mark.parametrize("case", list(TORN))
def test_a_torn_tail_is_cut_off_with_a_warning(tmp_path, case):
    d = tmp_path / "j"
    unclosed(d, 30, mode="group", segment_bytes=3000)
    last = sorted(p.name for p in d.glob("*.seg"))[-1]
    assert last != SEG1                                 # earlier segments are sealed
    _check_torn_tail(d, TORN[case](_next_frame(d, 30)), 30, last)


def test_a_torn_tail_in_a_segment_without_records(tmp_path):
    """A crash just after a roll: the last segment has its header and half a frame."""
    d = tmp_path / "j"
    with pytest.raises(_Crash):
        with Journal(d, "always", segment_bytes=800) as j:
            while j.segment == 1:
                j.append(payload(j.records))
            n = j.records
            raise _Crash
    assert (d / SEG2).stat().st_size == HEADER.size
    _check_torn_tail(d, _next_frame(d, n)[:20], n, SEG2)


def test_a_frame_cut_short_then_zeros_is_a_torn_tail(tmp_path):
    d = tmp_path / "j"
    unclosed(d, 10, mode="group")
    nf = _next_frame(d, 10)
    _check_torn_tail(d, nf[:FRAME_HEAD.size + 12] + bytes(4096), 10, SEG1)


def test_a_seal_cut_short_is_a_torn_tail(tmp_path):
    d = tmp_path / "j"
    unclosed(d, 10, mode="group")
    found = scan(d)
    from reporting.format import leaf_hash, merkle_root
    seal = pack_footer(10, found.chain_head, merkle_root([leaf_hash(payload(n))
                                                          for n in range(10)]))
    _check_torn_tail(d, seal[:50], 10, SEG1)


# ------------------------------------------------------------------ damage elsewhere

DAMAGE = {                                  # byte offset within the frame, xor
    "payload": (FRAME_HEAD.size + 3, 0x20),
    "CRC": (5, 0x01),
    "chain hash": (-1, 0x80),
    "length, low byte": (0, 0x01),
    "length, high byte": (3, 0x40),
}


def _damaged_journal(tmp_path) -> Path:
    d = tmp_path / "j"
    with pytest.raises(_Crash):
        with Journal(d, "group", segment_bytes=3000) as j:
            while j.segment < 3 or len(frame_offsets(d / SEG3)) < 6:
                j.append(payload(j.records))
                j.sync()
            raise _Crash
    segs = sorted(d.glob("*.seg"))
    assert len(segs) >= 3 and len(frame_offsets(segs[-1])) >= 5
    return d


def _check_refused(d: Path, segment: str, offset: int, record: int) -> None:
    before = snapshot(d)
    for on_record in (None, lambda n, p: None):
        with pytest.raises(JournalError) as e:
            scan(d, on_record)
        assert (e.value.segment, e.value.offset, e.value.record) == (segment, offset, record)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TornTail)        # no cutting anything off either
        with pytest.raises(JournalError) as e:
            Journal(d, "group")
    assert (e.value.segment, e.value.offset, e.value.record) == (segment, offset, record)
    message = str(e.value)
    assert f"segment {segment}" in message and f"offset {offset}" in message
    assert f"record {record}" in message
    assert snapshot(d) == before                        # nothing was changed


@pytest.mark.parametrize("field", list(DAMAGE))
def test_damage_in_a_sealed_segment_refuses_to_open(tmp_path, field):
    d = _damaged_journal(tmp_path)
    at, xor = DAMAGE[field]
    offsets = frame_offsets(d / SEG1)
    start = offsets[2]
    end = offsets[3]
    patch_bytes(d / SEG1, (end + at) if at < 0 else (start + at), xor)
    _check_refused(d, SEG1, start, 2)


def _last_segment_damage_params():
    for field in DAMAGE:
        yield pytest.param(field)


@pytest.mark.parametrize("field", list(_last_segment_damage_params()))
def test_damage_in_the_middle_of_the_last_segment_refuses_to_open(tmp_path, field):
    d = _damaged_journal(tmp_path)
    last = sorted(d.glob("*.seg"))[-1]
    found = scan(d)
    offsets = frame_offsets(last)
    k = len(offsets) - 3                    # two good frames follow the damaged one
    record = found.segments[-1].first_record + k
    at, xor = DAMAGE[field]
    patch_bytes(last, (offsets[k + 1] + at) if at < 0 else (offsets[k] + at), xor)
    _check_refused(d, last.name, offsets[k], record)


def test_damage_to_a_segment_header_refuses_to_open(tmp_path):
    d = _damaged_journal(tmp_path)
    before = snapshot(d)
    patch_bytes(d / SEG2, 24, 0x01)                     # its first record's number
    with pytest.raises(JournalError) as e:
        Journal(d)
    assert (e.value.segment, e.value.offset) == (SEG2, 24)
    assert f"segment {SEG2}, offset 24" in str(e.value)
    assert snapshot(d).keys() == before.keys()


def test_bytes_after_the_seal_of_a_closed_journal_are_not_a_torn_tail(tmp_path):
    d = tmp_path / "j"
    j = Journal(d, "none")
    for n in range(5):
        j.append(payload(n))
    j.close()
    size = (d / SEG1).stat().st_size
    append_bytes(d / SEG1, _next_frame(d, 5)[:10])
    _check_refused(d, SEG1, size - FOOTER.size, 5)


# ------------------------------------------------------------------ crashes: subprocesses

def _start(args, out: Path) -> subprocess.Popen:
    with open(out, "w") as stdout, open(out.with_suffix(".err"), "w") as stderr:
        return subprocess.Popen([sys.executable, str(HELPER), *map(str, args)],
                                stdout=stdout, stderr=stderr, cwd=ROOT)


def _lines(out: Path) -> list[str]:
    return out.read_text().split("\n")[:-1]         # the last, unfinished line is not one


def _run_until_killed(args, out: Path, rng: random.Random, want_lines: int = 3,
                      most: float = 0.3) -> list[str]:
    """Start the writer, let it acknowledge a few, SIGKILL it at a random moment."""
    proc = _start(args, out)
    deadline = time.monotonic() + 60
    while len(_lines(out)) < want_lines:
        assert proc.poll() is None, out.with_suffix(".err").read_text()
        assert time.monotonic() < deadline, "the writer acknowledged nothing"
        time.sleep(0.005)
    time.sleep(rng.uniform(0.0, most))
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL
    return _lines(out)


def _run_to_death(args, out: Path) -> tuple[int, list[str]]:
    """Run the writer until it kills itself (or fails)."""
    proc = _start(args, out)
    return proc.wait(120), _lines(out)


@pytest.mark.parametrize("mode, rounds", [("group", 4), ("always", 2)])
def test_sigkill_under_load_loses_no_acknowledged_record(tmp_path, mode, rounds):
    rng = random.Random(f"sigkill {mode}")
    d = tmp_path / "j"
    total = 0                               # records in the journal between rounds
    for r in range(rounds):
        out = tmp_path / f"writer{r}.out"
        lines = _run_until_killed(["raw", d, "--mode", mode, "--group-records", 16,
                                   "--group-micros", 300], out, rng)
        assert lines[0] == f"open {total}"              # it found all we left
        acked = [int(x) for x in lines[1:]]
        assert acked == list(range(total, total + len(acked)))
        assert acked, "nothing acknowledged before the kill"

        found = scan(d)                                 # verifies (a torn tail is allowed)
        assert found.records > acked[-1]
        got = payloads(d)                               # every record, byte for byte
        assert all(p == payload(n) for n, p in enumerate(got))
        j, torn = open_warned(d, mode)
        if found.torn_bytes:
            assert len(torn) == 1 and f"{found.torn_bytes} bytes" in torn[0]
        else:
            assert torn == []
        assert j.records == found.records
        # appending goes on; every other round the journal is closed cleanly (the
        # next writer then starts a new segment), else left open as after a crash
        for n in range(j.records, j.records + 3):
            j.append(payload(n))
        total = j.records
        if r % 2:
            j.close()
        else:
            with pytest.raises(_Crash):
                with j:
                    raise _Crash
        assert scan(d).records == total
    assert_payloads(d, total)


KILL_POINTS = {
    # a segment is sealed; the process dies before it starts the next one
    "after-seal": "",
    # the new segment has its header, but HEAD does not name it yet
    "roll-head": "interrupted",
    # the new segment file exists, empty
    "roll-empty": "interrupted",
}


@pytest.mark.parametrize("point", [
    pytest.param(p) for p in KILL_POINTS])
def test_sigkill_during_a_segment_roll(tmp_path, point):
    d = tmp_path / "j"
    code, lines = _run_to_death(["raw", d, "--mode", "always", "--segment-bytes", 3000,
                                 "--kill-at", point], tmp_path / "writer.out")
    assert code == -signal.SIGKILL and lines[0] == "open 0"
    acked = [int(x) for x in lines[1:]]
    assert acked == list(range(len(acked))) and len(acked) >= 5
    j, torn = open_warned(d, "always")
    assert j.records >= len(acked)
    assert all(KILL_POINTS[point] and KILL_POINTS[point] in w for w in torn)
    for n in range(j.records, j.records + 3):
        j.append(payload(n))
    j.close()
    assert scan(d).closed
    assert_payloads(d, j.records)


def test_sigkill_while_reopening_a_closed_journal(tmp_path):
    d = tmp_path / "j"
    j = Journal(d, "always")
    for n in range(5):
        j.append(payload(n))
    j.close()
    code, lines = _run_to_death(["raw", d, "--mode", "always", "--kill-at", "reopen-head"],
                                tmp_path / "writer.out")
    assert code == -signal.SIGKILL and lines == []
    j, _ = open_warned(d, "always")
    assert j.records == 5
    j.close()
    assert_payloads(d, 5)


def test_sigkill_while_creating_a_journal(tmp_path):
    d = tmp_path / "j"
    code, lines = _run_to_death(["raw", d, "--mode", "always", "--kill-at", "create-head"],
                                tmp_path / "writer.out")
    assert code == -signal.SIGKILL and lines == []
    j, _ = open_warned(d, "always")
    assert j.records == 0
    j.append(payload(0))
    j.close()
    assert_payloads(d, 1)


def test_a_short_write_never_acknowledges_a_lost_record(tmp_path):
    d = tmp_path / "j"
    k = 20                                  # the kernel cuts record k's write in the middle
    limit = HEADER.size + sum(frame_size(n) for n in range(k)) + frame_size(k) // 2
    code, lines = _run_to_death(["raw", d, "--mode", "always", "--fsize-limit", limit],
                                tmp_path / "writer.out")
    assert code != 0 and "File too large" in (tmp_path / "writer.err").read_text()
    acked = [int(x) for x in lines[1:]]
    assert acked == list(range(len(acked)))
    j, _ = open_warned(d, "always")
    assert j.records >= len(acked), f"acknowledged {len(acked)}, recovered {j.records}"


# ------------------------------------------------------------------ the engine's stream

@pytest.fixture(scope="module")
def venue():
    from engine.config import load_config
    return load_config()


def _clean_gate(venue, seed: int, count: int):
    """A fresh gate that ran the first `count` commands of `commands(seed)`; and
    (encoded command, events) of each."""
    from engine import msgpack_kernels as mp
    from risk.gate import RiskGate
    gate = RiskGate(venue)
    ran = []
    for cmd in islice(commands(seed), count):
        raw = mp.COMMAND_ENCODER.encode(cmd)
        ran.append((raw, gate.submit_raw(raw)))
    return gate, ran


def _rebuilt(directory):
    from oms.rebuild import venue_of
    from reporting.stream import read_stream
    stream = read_stream(directory)
    ref, book = venue_of(stream)
    for _, command, _ in stream.pairs:
        book.submit_raw(command)
    return stream, ref, book


def _same_state(gate, book, ref) -> None:
    from oms.replay import resting_table
    assert resting_table(book.engine, ref) == resting_table(gate.engine, gate.ref)
    assert book.usage() == gate.usage()


def test_sigkill_of_the_engine_stream_then_rebuild(tmp_path, venue):
    """The per-command door journaled in group mode, killed at random moments:
    every acknowledged command is in the recovered journal, its commands replay
    to its events byte for byte, and the rebuilt state equals a clean run."""
    from oms.rebuild import replay_check
    rng = random.Random("stream")
    for seed in (11, 12, 13):
        d = tmp_path / f"j{seed}"
        lines = _run_until_killed(["stream", d, "--mode", "group", "--seed", seed,
                                   "--group-records", 16, "--group-micros", 300],
                                  tmp_path / f"w{seed}.out", rng, want_lines=30, most=0.4)
        assert lines[0] == "open"
        acked = [int(x.split()[1]) for x in lines[1:]]
        assert acked == list(range(len(acked)))
        j, torn = open_warned(d, "group")               # the restart: verify, cut, go on
        j.close()
        result = replay_check(d)
        assert result.differences == []
        stream, ref, book = _rebuilt(d)
        count = len(stream.pairs)
        assert count >= len(acked) and result.commands == count
        gate, ran = _clean_gate(venue, seed, count)
        assert [(c, e) for _, c, e in stream.pairs] == ran      # byte for byte
        _same_state(gate, book, ref)


def test_restart_after_a_crash_between_commands_goes_on(tmp_path, venue):
    """Killed right after command 60's events were fsync'ed and acknowledged:
    the restarted engine rebuilds from the journal, takes commands 61..99, and
    the whole journal replays like one clean run of the 100 commands."""
    from engine import msgpack_kernels as mp
    from oms.rebuild import replay_check
    from reporting.stream import StreamWriter
    d = tmp_path / "j"
    code, lines = _run_to_death(["stream", d, "--mode", "always", "--seed", 5,
                                 "--kill-after-command", 60], tmp_path / "w.out")
    assert code == -signal.SIGKILL
    assert [int(x.split()[1]) for x in lines[1:]] == list(range(61))
    j, torn = open_warned(d, "always")
    assert torn == [] and j.records == 1 + 2 * 61
    stream, ref, book = _rebuilt(d)
    writer = StreamWriter(j)
    for cmd in islice(commands(5), 61, 100):
        raw = mp.COMMAND_ENCODER.encode(cmd)
        writer.command(raw, book.submit_raw(raw))
    j.close()
    result = replay_check(d)
    assert result.differences == [] and result.commands == 100
    gate, ran = _clean_gate(venue, 5, 100)
    from reporting.stream import read_stream
    assert [(c, e) for _, c, e in read_stream(d).pairs] == ran
    _same_state(gate, book, ref)


@pytest.fixture(scope="module")
def _lone_command(tmp_path_factory) -> Path:
    """The writer dies after command 50's COMMAND record was fsync'ed (always
    mode), before its EVENTS: command 50 was never acknowledged."""
    base = tmp_path_factory.mktemp("lone")
    d = base / "j"
    code, lines = _run_to_death(["stream", d, "--mode", "always", "--seed", 3,
                                 "--kill-before-events", 50], base / "w.out")
    assert code == -signal.SIGKILL
    assert [int(x.split()[1]) for x in lines[1:]] == list(range(50))
    return d


def _crash_between_command_and_events(tmp_path, lone: Path) -> Path:
    d = tmp_path / "j"
    shutil.copytree(lone, d)
    return d


def test_a_command_without_its_events_at_the_tail_after_a_crash(tmp_path, venue,
                                                                _lone_command):
    from oms.rebuild import replay_check
    d = _crash_between_command_and_events(tmp_path, _lone_command)
    j, torn = open_warned(d, "always")
    assert torn == [] and j.records == 1 + 2 * 50 + 1         # the lone COMMAND is kept
    j.close()
    result = replay_check(d)                # read_stream passes over the trailing COMMAND
    assert result.differences == [] and result.commands == 50
    stream, ref, book = _rebuilt(d)
    gate, _ = _clean_gate(venue, 3, 50)
    _same_state(gate, book, ref)


def test_the_engine_goes_on_after_a_command_without_its_events(tmp_path, venue,
                                                               _lone_command):
    """The restarted writer voids the lone COMMAND (it was never acknowledged)
    and goes on; the journal stays replayable."""
    from engine import msgpack_kernels as mp
    from oms.rebuild import replay_check
    from reporting.stream import StreamWriter
    d = _crash_between_command_and_events(tmp_path, _lone_command)
    j, _ = open_warned(d, "always")
    stream, ref, book = _rebuilt(d)
    assert len(stream.pairs) == 50
    writer = StreamWriter(j)
    assert writer.void_trailing_command() == 1 + 2 * 50
    assert writer.void_trailing_command() is None
    for cmd in islice(commands(3), 50, 70):             # the restarted engine goes on
        raw = mp.COMMAND_ENCODER.encode(cmd)
        writer.command(raw, book.submit_raw(raw))
    j.close()
    result = replay_check(d)
    assert result.differences == [] and result.commands == 70


# ------------------------------------------------------------------ oms replay --journal

def _oms(*args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "oms.cli", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)


def _finish(proc) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


@pytest.mark.parametrize("venue_args", [(), ("--tick", "0.01")], ids=["config", "tick"])
def test_replay_journal_is_byte_for_byte_deterministic(tmp_path, venue_args):
    a, b = tmp_path / "a", tmp_path / "b"
    runs = [_oms("replay", DEMO_FLOW, "--journal", a, *venue_args),
            _oms("replay", DEMO_FLOW, "--journal", b, "--durability", "always", *venue_args)]
    for proc in runs:
        code, out, err = _finish(proc)
        assert code == 0, err
    files_a, files_b = snapshot(a), snapshot(b)
    assert sorted(files_a) == sorted(files_b) == [SEG1, "HEAD"]
    assert files_a == files_b               # the durability mode changes no byte either
    found = scan(a)
    assert found.closed and found.records > 2 * 20
    code, out, err = _finish(_oms("journal", "replay", a, "--check"))
    assert code == 0, err
    assert "every event identical" in out
    from oms import journal_cli
    assert journal_cli.verify(str(a), out=io.StringIO()) == 0
