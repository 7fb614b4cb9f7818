"""`MessageStore`: a session's sequence numbers and the messages it sent.

A ResendRequest is answered from here, and a restart picks up the sequence
numbers where they were, so both live in two files per session in the
gateway's folder (beside the journal):

* ``<name>.seqnums``: ``sender target`` as text, rewritten in place at each
  flush (20 digits each, so the file never changes size);
* ``<name>.body``: every sent message, raw, one after another; on start it is
  read back into memory (the messages carry their own MsgSeqNum).

Writes go to the operating system at `flush` (the gateway flushes once per
event-loop turn, before the turn's messages leave), so a crash of the process
loses nothing sent. They are not fsync'ed: the journal is what must survive
the machine; a lost store only turns a resend into a gap fill.

Without a folder (`directory=None`) the store lives in memory only.
"""
from __future__ import annotations

import os
from pathlib import Path

_SEQ_WIDTH = 20


class MessageStore:
    def __init__(self, directory: str | os.PathLike | None, name: str):
        self.next_sender = 1
        self.next_target = 1
        self._sent: dict[int, bytes] = {}
        self._pending: list[bytes] = []
        self._dirty = False
        self._body = self._seqnums = None
        if directory is None:
            return
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        self._seqnums_path = folder / f"{name}.seqnums"
        self._body_path = folder / f"{name}.body"
        self._load()
        self._body = open(self._body_path, "ab")
        self._seqnums = open(self._seqnums_path, "r+b" if self._seqnums_path.exists() else "w+b")
        self._dirty = True
        self.flush()

    # ------------------------------------------------------------ sequence numbers

    def set_next_sender(self, n: int) -> None:
        self.next_sender = n
        self._dirty = True

    def set_next_target(self, n: int) -> None:
        self.next_target = n
        self._dirty = True

    def incr_next_target(self) -> None:
        self.next_target += 1
        self._dirty = True

    # ------------------------------------------------------------ sent messages

    def add_sent(self, seq: int, raw: bytes) -> None:
        """Keep message `seq` (sent or to be sent) and move the sender number past it."""
        self._sent[seq] = raw
        self.next_sender = seq + 1
        self._dirty = True
        if self._body is not None:
            self._pending.append(raw)

    def sent(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        """The stored messages with begin <= seq <= end, in order."""
        return [(s, self._sent[s]) for s in range(begin, end + 1) if s in self._sent]

    def reset(self) -> None:
        """Both numbers back to 1 and the sent messages forgotten (a reset logon)."""
        self.next_sender = self.next_target = 1
        self._sent.clear()
        self._pending.clear()
        self._dirty = True
        if self._body is not None:
            self._body.truncate(0)

    # ------------------------------------------------------------ files

    def flush(self) -> None:
        if self._body is None or not self._dirty:
            return
        if self._pending:
            self._body.write(b"".join(self._pending))
            self._pending.clear()
            self._body.flush()
        self._seqnums.seek(0)
        self._seqnums.write(b"%0*d %0*d\n" % (_SEQ_WIDTH, self.next_sender,
                                                _SEQ_WIDTH, self.next_target))
        self._seqnums.flush()
        self._dirty = False

    def close(self) -> None:
        if self._body is not None:
            self.flush()
            self._body.close()
            self._seqnums.close()
            self._body = None

    def _load(self) -> None:
        if self._seqnums_path.exists():
            text = self._seqnums_path.read_text().split()
            if len(text) == 2 and all(t.isdigit() for t in text):
                self.next_sender, self.next_target = int(text[0]), int(text[1])
        if self._body_path.exists():
            for seq, raw in _split_messages(self._body_path.read_bytes()):
                self._sent[seq] = raw
            if self._sent:
                self.next_sender = max(self.next_sender, max(self._sent) + 1)


def _split_messages(data: bytes):
    """(MsgSeqNum, raw) of each whole message in a .body file; a torn last
    message (a crash in the middle of a write) is dropped."""
    from .codec import GarbledMessage, decode, frame_end
    start = 0
    while start < len(data):
        try:
            end = frame_end(data, start)
        except GarbledMessage:
            return
        if end < 0:
            return
        raw = data[start:end]
        try:
            seq = decode(raw).get(34)
        except GarbledMessage:
            return
        if seq is not None and seq.isdigit():
            yield int(seq), raw
        start = end
