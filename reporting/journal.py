"""`Journal`: the append-only, hash-chained, sealed record of everything.

Appending frames the payload (`reporting.format`), extends the hash chain and
buffers the bytes; when they reach the disk depends on the durability mode:

* ``always``: written and fdatasync'ed before `append` returns;
* ``group`` (the default): fsync'ed once `group_records` records or
  `group_micros` microseconds (by the injected clock) have gathered since
  the last sync, checked on every `append` and `poll`;
* ``none``: written when the buffer fills and at `sync`/`close`, never
  fsync'ed (replays, tests).

`durable` is the number of records known to be on disk: an acknowledgement
for record n may leave the process once ``durable > n``. A segment that
reaches `segment_bytes` is sealed (footer with the record count, chain head
and Merkle root), fsync'ed and made read-only, and a new one starts; `close`
seals the last one, so a cleanly closed journal is sealed throughout. The
HEAD file, replaced atomically, names the current segment and, once closed,
the record count and chain head.

Opening an existing journal verifies it (`reporting.reader.scan`), truncates
a torn tail with a warning, and appends after the last good record; a closed
journal is reopened by starting a new segment.
"""
from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Callable

from .format import (HEADER, ZERO_HASH, chain, frame, leaf_hash, merkle_root_of, pack_footer,
                     pack_header, segment_name)
from .reader import (HEAD_FILE, HEAD_FORMAT, JournalError, _hasher, head_text, read_head,
                     scan, segment_files)

MODES = ("always", "group", "none")


class TornTail(UserWarning):
    """A torn last record was cut off when the journal was opened."""


class Journal:
    def __init__(self, directory: str | os.PathLike, mode: str = "group", *,
                 group_records: int = 64, group_micros: int = 1000,
                 segment_bytes: int = 64 << 20, clock: Callable[[], int] = time.monotonic_ns,
                 buffer_bytes: int = 1 << 20, bus=None):
        if mode not in MODES:
            raise ValueError(f"durability mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.directory = Path(directory)
        self.mode = mode
        self.group_records = group_records
        self.group_nanos = group_micros * 1000
        self.segment_bytes = segment_bytes
        self.buffer_bytes = buffer_bytes
        self.clock = clock
        self._buffer = bytearray()
        self._leaves = bytearray()          # the segment's 32-byte Merkle leaf hashes
        self._hasher = _hasher()
        self.bus = bus                      # a `reporting.subscribers.RecordBus`, or None
        self._unpublished: list[bytes] = []
        self._file = None
        self.closed = False
        self.directory.mkdir(parents=True, exist_ok=True)
        _finish_interrupted_roll(self.directory)
        if (self.directory / HEAD_FILE).exists():
            self._reopen()
        elif segment_files(self.directory):
            raise JournalError(f"{self.directory} holds segment files but no {HEAD_FILE}")
        else:
            self.records = 0
            self.chain_head = ZERO_HASH
            self.segment = 0
            self._start_segment()
        self.durable = self.records
        self._last_sync = self.clock()

    # ------------------------------------------------------------ appending

    def append(self, payload: bytes) -> int:
        """Add one record; returns its number (from 0)."""
        return self.append_many([payload])

    def append_many(self, payloads: list[bytes]) -> int:
        """Add records in one go (framed by one compiled call where it can be);
        returns the number of the first. With `always`, one fdatasync covers
        them all; a command and its events go in together this way."""
        if self.closed:
            raise JournalError("the journal is closed")
        first = self.records
        if self._hasher is None or len(payloads) < 4:
            for number, payload in enumerate(payloads, first):
                self.chain_head = chain(self.chain_head, number, payload)
                data = frame(payload, self.chain_head)
                self._buffer += data
                self._leaves += leaf_hash(payload)
                self._segment_size += len(data)
        else:
            frames, self.chain_head, leaves = self._hasher.frame(payloads, first,
                                                                 self.chain_head)
            self._buffer += frames
            self._leaves += leaves.tobytes()
            self._segment_size += len(frames)
        self.records = first + len(payloads)
        if self.bus is not None:
            self._unpublished.extend(payloads)
        if self.mode == "always":
            self.sync()
        elif self.mode == "group":
            self.poll()
        elif len(self._buffer) >= self.buffer_bytes:
            self._write()
        if self._segment_size >= self.segment_bytes:
            self._seal_and_roll()
        return first

    def poll(self) -> None:
        """In group mode, sync if the group is full or old enough (call it
        from the event loop, so that a quiet stream is still synced in time)."""
        if self.mode != "group" or self.durable == self.records:
            return
        if (self.records - self.durable >= self.group_records
                or self.clock() - self._last_sync >= self.group_nanos):
            self.sync()

    def sync(self) -> None:
        """Write the buffer and, unless the mode is none, fdatasync it."""
        self._write()
        if self.mode != "none":
            os.fdatasync(self._file.fileno())
        self.durable = self.records
        self._last_sync = self.clock()

    def close(self) -> None:
        """Seal the last segment and mark the journal closed in HEAD."""
        if self.closed:
            return
        self._seal()
        self._write_head(closed=True)
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            self.close()
        else:                       # keep what was written; it recovers as a tail
            self._write()
            self._file.close()
            self.closed = True

    # ------------------------------------------------------------ segments

    def _write(self) -> None:
        """Write the whole buffer; a short write (a full disk, a file size
        limit) is retried, and an error leaves `durable` where it was."""
        view = memoryview(self._buffer)
        done = 0
        try:
            while done < len(view):
                n = self._file.write(view[done:])
                if not n:
                    raise OSError(f"could not write to {self._file.name}")
                done += n
        finally:
            view.release()
            del self._buffer[:done]
        if self.bus is not None and self._unpublished and not self._buffer:
            first = self.records - len(self._unpublished)
            self.bus.publish(first, self._unpublished)
            self._unpublished = []

    def _start_segment(self) -> None:
        self.segment += 1
        path = self.directory / segment_name(self.segment)
        self._file = open(path, "xb", buffering=0)
        header = pack_header(self.segment, self.records, self.chain_head)
        self._file.write(header)
        self._segment_size = len(header)
        self._leaves = bytearray()
        os.fsync(self._file.fileno())
        _fsync_dir(self.directory)
        self._write_head(closed=False)

    def _seal(self) -> None:
        self._buffer += pack_footer(len(self._leaves) // 32, self.chain_head,
                                    merkle_root_of(self._leaves, self._hasher))
        self._write()
        os.fsync(self._file.fileno())
        self._file.close()
        os.chmod(self.directory / segment_name(self.segment), 0o444)
        self.durable = self.records

    def _seal_and_roll(self) -> None:
        self._seal()
        self._start_segment()

    def _write_head(self, closed: bool) -> None:
        head = {"format": HEAD_FORMAT, "segment": self.segment, "closed": closed}
        if closed:
            head["records"] = self.records
            head["chain_head"] = self.chain_head.hex()
        tmp = self.directory / (HEAD_FILE + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(head_text(head))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.directory / HEAD_FILE)
        _fsync_dir(self.directory)

    def _reopen(self) -> None:
        found = scan(self.directory)
        self.records = found.records
        self.chain_head = found.chain_head
        last = found.segments[-1]
        self.segment = last.number
        if last.sealed:
            self._start_segment()
            return
        path = last.path
        if found.torn_bytes:
            warnings.warn(f"journal {self.directory}: cut a torn tail of {found.torn_bytes} "
                          f"bytes off {path.name} (a write interrupted by a crash)", TornTail,
                          stacklevel=3)
            with open(path, "r+b") as f:
                f.truncate(last.end)
                os.fsync(f.fileno())
        self._file = open(path, "ab", buffering=0)
        self._segment_size = last.end
        self._leaves = last.leaves


def _finish_interrupted_roll(directory: Path) -> None:
    """A crash while a segment was being started leaves a segment file beyond
    the one HEAD names (or, for a new journal, no HEAD at all) holding at most
    its header: no record was in it. Remove it, with a warning, so that the
    journal opens as it was before."""
    files = segment_files(directory)
    if not files or files[-1].stat().st_size > HEADER.size:
        return
    head_path = directory / HEAD_FILE
    named = read_head(directory).get("segment") if head_path.exists() else 0
    if files[-1].name == segment_name(named + 1):
        warnings.warn(f"journal {directory}: removed {files[-1].name}, a segment whose start "
                      f"was interrupted (it holds no record)", TornTail, stacklevel=4)
        os.chmod(files[-1], 0o644)
        files[-1].unlink()
        _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
