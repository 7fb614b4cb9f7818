"""Reading and verifying a journal directory.

`scan` walks every segment in order and checks everything the format lets a
reader check: headers, frame lengths and CRCs, the hash chain across records
and segments, each seal's count, chain head and Merkle root, the HEAD file,
and that nothing follows a seal. The first problem stops it with a
`JournalError` naming the segment, the byte offset and the record number.

The one thing that is not an error is a torn tail: a last record cut short
(or failing its CRC) at the very end of the last, unsealed segment, which is
what a crash in the middle of a write leaves. `scan` reports it in
`Scan.torn_bytes`; `Journal.open` truncates it with a warning.
"""
from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from . import fastpath
from .format import (FOOTER, FOOTER_BODY, FRAME_HEAD, HASH_SIZE, HEADER, MAX_PAYLOAD,
                     SEAL_MAGIC, SEGMENT_MAGIC, VERSION, ZERO_HASH, chain, leaf_hash,
                     merkle_root_of, segment_name)

HEAD_FILE = "HEAD"
HEAD_FORMAT = "oms-journal 1"


class JournalError(Exception):
    """A journal that cannot be trusted; the message names where."""

    def __init__(self, problem: str, segment: str | None = None, offset: int | None = None,
                 record: int | None = None):
        self.problem, self.segment, self.offset, self.record = problem, segment, offset, record
        where = []
        if segment is not None:
            where.append(f"segment {segment}")
        if offset is not None:
            where.append(f"offset {offset}")
        if record is not None:
            where.append(f"record {record}")
        super().__init__(f"{', '.join(where)}: {problem}" if where else problem)


@dataclass
class Segment:
    number: int
    path: Path
    first_record: int
    records: int = 0
    sealed: bool = False
    end: int = 0                    # bytes of good data (before any torn tail)
    leaves: bytearray = field(default_factory=bytearray, repr=False)  # RFC 6962 leaf hashes


@dataclass
class Scan:
    """What a verified journal holds."""
    segments: list[Segment] = field(default_factory=list)
    records: int = 0
    chain_head: bytes = ZERO_HASH
    torn_bytes: int = 0             # at the end of the last segment
    head: dict = field(default_factory=dict)

    @property
    def closed(self) -> bool:
        """Closed cleanly: every segment sealed and HEAD says so."""
        return bool(self.segments) and self.segments[-1].sealed and self.head.get("closed", False)


_HASHER = []


def _hasher():
    """The compiled hashing, or None where OpenSSL's library cannot be loaded."""
    if not _HASHER:
        _HASHER.append(fastpath.Hasher() if fastpath.available() else None)
    return _HASHER[0]


def read_head(directory: Path) -> dict:
    path = Path(directory) / HEAD_FILE
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise JournalError(f"no {HEAD_FILE} file in {directory}: not a journal") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JournalError(f"cannot read {HEAD_FILE}: {exc}") from None
    try:
        head = json.loads(text)
    except ValueError:
        raise JournalError(f"{HEAD_FILE} is not valid JSON") from None
    if not isinstance(head, dict) or head.get("format") != HEAD_FORMAT:
        raise JournalError(f"{HEAD_FILE} does not name the format {HEAD_FORMAT!r}")
    if text != head_text(head):
        raise JournalError(f"{HEAD_FILE} is not byte for byte what its values say "
                           f"(docs/JOURNAL.md): it was changed")
    return head


def head_text(head: dict) -> str:
    """HEAD's exact bytes for its values: the documented keys in order."""
    keys = ["format", "segment", "closed"] + (["records", "chain_head"]
                                              if head.get("closed") is True else [])
    def whole(x):
        return isinstance(x, int) and not isinstance(x, bool)
    if not whole(head.get("segment")) or not isinstance(head.get("closed"), bool):
        return ""
    if head["closed"] and not (whole(head.get("records"))
                               and isinstance(head.get("chain_head"), str)):
        return ""
    return json.dumps({k: head.get(k) for k in keys}) + "\n"


def segment_files(directory: Path) -> list[Path]:
    """Every ``.seg`` file (a misnamed one is then an error of `scan`)."""
    return sorted(p for p in Path(directory).iterdir() if p.suffix == ".seg")


def scan(directory: str | os.PathLike, on_record=None, allow_torn_tail: bool = True,
         progress=None) -> Scan:
    """Verify the journal in `directory`; `on_record(number, payload)` sees
    every record in order; `progress(segments done, segments)` after each
    segment. Raises `JournalError` at the first problem."""
    directory = Path(directory)
    head = read_head(directory)
    files = segment_files(directory)
    if not files:
        raise JournalError("no segment files")
    result = Scan(head=head)
    previous = ZERO_HASH
    number = 0
    if len(files) == head.get("segment", 0) + 1 and files[-1].stat().st_size <= HEADER.size:
        raise JournalError(f"{files[-1].name} holds no record and HEAD does not name it: a "
                           f"segment whose start a crash interrupted (opening the journal "
                           f"removes it)")
    for i, path in enumerate(files):
        expected = i + 1
        if path.name != segment_name(expected):
            raise JournalError(f"expected segment {segment_name(expected)}, found {path.name} "
                               f"(a segment is missing or misnamed)")
        last = i == len(files) - 1
        seg, previous, number, torn = _scan_segment(path, expected, number, previous, last,
                                                    on_record)
        if torn and not allow_torn_tail:
            raise JournalError(f"torn tail of {torn} bytes", path.name, seg.end, number)
        if not last:
            seg.leaves = bytearray()        # only the tail's are needed (to seal it later)
        result.segments.append(seg)
        if progress is not None:
            progress(i + 1, len(files))
        result.torn_bytes = torn
    result.records, result.chain_head = number, previous
    _check_head(head, result)
    return result


def _scan_segment(path: Path, expected: int, number: int, previous: bytes, last: bool,
                  on_record) -> tuple[Segment, bytes, int, int]:
    data = path.read_bytes()
    name = path.name
    if len(data) < HEADER.size:
        raise JournalError(f"shorter than its {HEADER.size}-byte header", name, 0)
    magic, version, reserved, seg_no, first, head_before = HEADER.unpack_from(data, 0)
    if magic != SEGMENT_MAGIC:
        raise JournalError("not a journal segment (bad magic)", name, 0)
    if version != VERSION or reserved != 0:
        raise JournalError(f"unknown version {version}", name, 8)
    if seg_no != expected:
        raise JournalError(f"header says segment {seg_no}", name, 16)
    if first != number:
        raise JournalError(f"header says it starts at record {first}, the journal is at "
                           f"{number}", name, 24, number)
    if head_before != previous:
        raise JournalError("header's chain head differs from the previous segment's",
                           name, 32, number)
    seg = Segment(expected, path, first)
    leaves = seg.leaves
    pos = HEADER.size
    hasher = _hasher() if on_record is None else None
    if hasher is not None:
        # the compiled walk checks the good frames; the loop below takes over
        # where it stops, at the seal or at the frame it could not check
        room = (len(data) - pos) // 40 + 1
        pos, count, _, previous, found = hasher.check(np.frombuffer(data, np.uint8), pos,
                                                      len(data), number, previous, MAX_PAYLOAD,
                                                      room)
        leaves += found.tobytes()
        number += count
        seg.records += count
    while pos < len(data):
        if data[pos:pos + 4] == SEAL_MAGIC[:4]:
            if last and len(data) - pos < FOOTER.size and _tail_only(data, pos):
                seg.end = pos                       # a seal cut short by a crash
                return seg, previous, number, len(data) - pos
            _check_footer(data, pos, seg, previous, leaves, name, number)
            seg.sealed, seg.end = True, len(data)
            return seg, previous, number, 0
        torn = _torn(data, pos)
        if torn is not None:
            if last and _tail_only(data, pos):
                seg.end = pos
                return seg, previous, number, len(data) - pos
            raise JournalError(torn, name, pos, number)
        payload, want, end, problem = _read_frame(data, pos, previous, number)
        if problem is not None:
            if last and (end == len(data) or data.count(0, end) == len(data) - end):
                # the last write, half on disk; or zeros a crash left past the data
                seg.end = pos
                return seg, previous, number, len(data) - pos
            raise JournalError(problem, name, pos, number)
        if on_record is not None:
            on_record(number, payload)
        leaves += leaf_hash(payload)
        previous = want
        number += 1
        seg.records += 1
        pos = end
    seg.end = pos
    if not last:
        raise JournalError("not sealed, yet not the last segment", name, pos, number)
    return seg, previous, number, 0


def _read_frame(data: bytes, pos: int, previous: bytes,
                number: int) -> tuple[bytes, bytes, int, str | None]:
    """(payload, chain hash, end, problem) of the whole frame at `pos` as
    record `number` after chain hash `previous`; problem None if it checks."""
    length, crc = FRAME_HEAD.unpack_from(data, pos)
    payload = data[pos + 8:pos + 8 + length]
    end = pos + 8 + length + HASH_SIZE
    if zlib.crc32(payload) != crc:
        return payload, b"", end, "CRC mismatch"
    want = chain(previous, number, payload)
    if data[end - HASH_SIZE:end] != want:
        return payload, want, end, ("chain hash mismatch (a record was changed, removed or "
                                    "reordered)")
    return payload, want, end, None


def _torn(data: bytes, pos: int) -> str | None:
    """Why the frame at `pos` cannot be read in full, or None."""
    if len(data) - pos < FRAME_HEAD.size:
        return "truncated frame header"
    length, _ = FRAME_HEAD.unpack_from(data, pos)
    if pos + FRAME_HEAD.size + length + HASH_SIZE > len(data):
        return "truncated record"
    return None


def _tail_only(data: bytes, pos: int) -> bool:
    """Could data[pos:] be what a crash leaves of the last write: the first
    bytes of one frame (or of the seal), then at most zeros, or bytes a
    filesystem left there? No frame with a right CRC can follow it; damage in
    the middle of the file, with good frames after it, fails this test."""
    rest = len(data) - pos
    if rest < FRAME_HEAD.size:
        return True
    if data[pos:pos + 4] == SEAL_MAGIC[:4]:
        return rest < FOOTER.size and data[pos:pos + min(rest, 8)] == SEAL_MAGIC[:min(rest, 8)]
    length, _ = FRAME_HEAD.unpack_from(data, pos)
    end = pos + FRAME_HEAD.size + length + HASH_SIZE
    if length > MAX_PAYLOAD or end >= len(data):
        return not _frame_follows(data, pos + 1)
    return data.count(0, end) == len(data) - end


def _frame_follows(data: bytes, start: int, limit: int = 1 << 16) -> bool:
    """Is there a frame with a right CRC starting somewhere after `start`?
    (Looked for at the first `limit` offsets: only when a tail looks torn.)"""
    end = len(data)
    for q in range(start, min(end - FRAME_HEAD.size - HASH_SIZE, start + limit) + 1):
        length, crc = FRAME_HEAD.unpack_from(data, q)
        if 0 < length <= end - q - FRAME_HEAD.size - HASH_SIZE and \
                zlib.crc32(data[q + 8:q + 8 + length]) == crc:
            return True
    return False


def _check_footer(data, pos, seg, previous, leaves, name, number) -> None:
    if len(data) - pos != FOOTER.size:
        raise JournalError(f"the seal must be the last {FOOTER.size} bytes; "
                           f"{len(data) - pos} bytes follow it", name, pos, number)
    magic, count, head, root, crc = FOOTER.unpack_from(data, pos)
    if magic != SEAL_MAGIC or zlib.crc32(data[pos:pos + FOOTER_BODY.size]) != crc:
        raise JournalError("damaged seal (bad magic or CRC)", name, pos, number)
    if count != seg.records:
        raise JournalError(f"seal counts {count} records, the segment holds {seg.records}",
                           name, pos, number)
    if head != previous:
        raise JournalError("seal's chain head differs from the last record's", name, pos,
                           number)
    if root != merkle_root_of(leaves, _hasher()):
        raise JournalError("seal's Merkle root differs from the records'", name, pos, number)


def _check_head(head: dict, result: Scan) -> None:
    last = result.segments[-1]
    if head.get("segment") != last.number:
        raise JournalError(f"{HEAD_FILE} names segment {head.get('segment')}, the last segment "
                           f"is {last.number}")
    if head.get("closed"):
        if not last.sealed:
            raise JournalError(f"{HEAD_FILE} says the journal was closed, but segment "
                               f"{segment_name(last.number)} is not sealed")
        if head.get("records") != result.records or \
                head.get("chain_head") != result.chain_head.hex():
            raise JournalError(f"{HEAD_FILE} says {head.get('records')} records ending in "
                               f"{head.get('chain_head')}; the segments hold {result.records} "
                               f"ending in {result.chain_head.hex()}")


def read_range(directory: str | os.PathLike, start: int, stop: int) -> list[tuple[int, bytes]]:
    """Records start..stop-1 as (number, payload), read from the segments that
    hold them and checked from each segment's start (its header carries the
    chain head before it). A frame still being written at the end of the last
    segment ends the range early. For followers catching up, while the
    journal is being written."""
    out: list[tuple[int, bytes]] = []
    files = segment_files(directory)
    for i, path in enumerate(files):
        if len(out) and out[-1][0] >= stop - 1:
            break
        data = path.read_bytes()
        if len(data) < HEADER.size:
            break
        magic, _, _, _, first, previous = HEADER.unpack_from(data, 0)
        if magic != SEGMENT_MAGIC:
            raise JournalError("not a journal segment (bad magic)", path.name, 0)
        if i + 1 < len(files):
            nxt = files[i + 1].read_bytes()[:HEADER.size]
            if len(nxt) == HEADER.size and HEADER.unpack(nxt)[4] <= start:
                continue                            # all of it is before `start`
        pos, number = HEADER.size, first
        while pos < len(data) and number < stop:
            if data[pos:pos + 4] == SEAL_MAGIC[:4] or _torn(data, pos) is not None:
                break
            payload, want, end, problem = _read_frame(data, pos, previous, number)
            if problem is not None:
                if i + 1 == len(files) and end >= len(data):
                    break                           # still being written
                raise JournalError(problem, path.name, pos, number)
            if number >= start:
                out.append((number, payload))
            previous, number, pos = want, number + 1, end
    return out


def records(directory: str | os.PathLike) -> Iterator[tuple[int, bytes]]:
    """Every record's (number, payload), after verifying the whole journal."""
    out: list[tuple[int, bytes]] = []
    scan(directory, lambda n, p: out.append((n, p)))
    return iter(out)
