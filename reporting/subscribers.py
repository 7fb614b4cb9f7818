"""Live subscribers: other parts (a drop copy, a file tailer) follow the
journal's records in order, and none of them can slow the engine down.

The journal hands each record to the `RecordBus` once it is written to its
file. Every `Subscription` has a bounded queue: when a subscriber falls
behind, its oldest queued records are dropped, never waited for. The
subscriber notices the gap by the record numbers and reads the missing
records back from the journal files (they are there: only written records
are published), then goes on with the live ones. So the engine's thread only
ever appends to a few bounded deques.
"""
from __future__ import annotations

import os
import threading
from collections import deque
from pathlib import Path

from .reader import read_range


class Subscription:
    """Records from `start` on, in order: `get()` (blocking, with a timeout)
    or iteration. `caught_up` counts the records read back from the files."""

    def __init__(self, bus: RecordBus, start: int, capacity: int):
        self._bus = bus
        self._queue: deque = deque(maxlen=capacity)
        self._ready = threading.Condition(bus._lock)
        self._backlog: deque = deque()          # records read back from the files
        self.next = start
        self.caught_up = 0
        self.closed = False

    def _offer(self, number: int, payload: bytes) -> None:
        self._queue.append((number, payload))      # the oldest falls off when full
        self._ready.notify()

    def get(self, timeout: float | None = None) -> tuple[int, bytes] | None:
        """The next record (number, payload), or None after `timeout` seconds
        without one (or once closed)."""
        if not self._backlog:
            with self._ready:
                while True:
                    while self._queue and self._queue[0][0] < self.next:
                        self._queue.popleft()
                    if self._queue and self._queue[0][0] == self.next:
                        self.next += 1
                        return self._queue.popleft()
                    if self.next < self._bus.published:
                        break                   # a gap: the dropped records are in the files
                    if self.closed or not self._ready.wait(timeout):
                        return None
                stop = self._queue[0][0] if self._queue else self._bus.published
            records = read_range(self._bus.directory, self.next, stop)   # not under the lock
            self.caught_up += len(records)
            self._backlog.extend(records)
            if not self._backlog:
                return None
        item = self._backlog.popleft()
        self.next = item[0] + 1
        return item

    def __iter__(self):
        return self

    def __next__(self) -> tuple[int, bytes]:
        item = self.get()
        if item is None:
            raise StopIteration
        return item

    def close(self) -> None:
        self._bus.unsubscribe(self)


class RecordBus:
    """Fans written records out to subscriptions (`Journal(bus=...)` publishes)."""

    def __init__(self, directory: str | os.PathLike, published: int = 0):
        self.directory = Path(directory)
        self.published = published          # records handed out so far
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []

    def subscribe(self, start: int | None = None, capacity: int = 10_000) -> Subscription:
        """Follow the records from `start` (default: from now on)."""
        with self._lock:
            sub = Subscription(self, self.published if start is None else start, capacity)
            self._subs.append(sub)
            return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            sub.closed = True
            sub._ready.notify_all()
            if sub in self._subs:
                self._subs.remove(sub)

    def publish(self, first: int, payloads: list[bytes]) -> None:
        """Records first, first + 1, ... are in the files now."""
        with self._lock:
            for sub in self._subs:
                for i, payload in enumerate(payloads):
                    sub._offer(first + i, payload)
            self.published = first + len(payloads)
