"""Live subscribers follow the journal in order; a slow one never holds up the
writer, and catches up from the files."""
import threading

from reporting.journal import Journal
from reporting.subscribers import RecordBus


def payload(n: int) -> bytes:
    return b"record %d" % n


def test_a_subscriber_sees_every_written_record_in_order(tmp_path):
    bus = RecordBus(tmp_path / "j")
    journal = Journal(tmp_path / "j", "none", bus=bus, segment_bytes=2000)
    sub = bus.subscribe(0, capacity=1000)
    for n in range(50):
        journal.append(payload(n))
    journal.sync()
    got = [sub.get(timeout=1) for _ in range(50)]
    assert got == [(n, payload(n)) for n in range(50)]
    assert sub.caught_up == 0 and sub.get(timeout=0.01) is None
    journal.close()


def test_a_slow_subscriber_drops_nothing_and_catches_up_from_the_files(tmp_path):
    bus = RecordBus(tmp_path / "j")
    journal = Journal(tmp_path / "j", "none", bus=bus, segment_bytes=1500)
    sub = bus.subscribe(0, capacity=4)          # far smaller than what comes
    for n in range(0, 300, 10):
        journal.append_many([payload(k) for k in range(n, n + 10)])
        journal.sync()                          # written: published
    got = [sub.get(timeout=1) for _ in range(300)]
    assert got == [(n, payload(n)) for n in range(300)]
    assert sub.caught_up > 0                    # read back from the segments
    journal.close()


def test_the_writer_never_waits_for_a_subscriber(tmp_path):
    bus = RecordBus(tmp_path / "j")
    journal = Journal(tmp_path / "j", "none", bus=bus)
    bus.subscribe(0, capacity=1)                # nobody ever reads it
    for n in range(2000):
        journal.append(payload(n))
        if n % 100 == 0:
            journal.sync()
    journal.close()
    assert bus.published == 2000


def test_a_subscriber_in_another_thread_follows_live(tmp_path):
    bus = RecordBus(tmp_path / "j")
    journal = Journal(tmp_path / "j", "none", bus=bus)
    sub = bus.subscribe(capacity=16)
    got = []

    def follow():
        while len(got) < 500:
            item = sub.get(timeout=5)
            if item is None:
                return
            got.append(item)
    t = threading.Thread(target=follow)
    t.start()
    for n in range(500):
        journal.append(payload(n))
        journal.sync()
    t.join(10)
    journal.close()
    assert got == [(n, payload(n)) for n in range(500)]


def test_scan_reports_progress_segment_by_segment(tmp_path):
    from reporting.reader import scan
    journal = Journal(tmp_path / "j", "none", segment_bytes=500)
    for n in range(100):
        journal.append(payload(n))
    journal.close()
    seen = []
    found = scan(tmp_path / "j", progress=lambda done, total: seen.append((done, total)))
    total = len(found.segments)
    assert total > 3 and seen == [(k, total) for k in range(1, total + 1)]
