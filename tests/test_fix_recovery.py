"""Restarting the gateway on its journal (`oms.recovery`), in process.

The socket-level restart is in `test_fix_gateway.py`; here the journal is cut
at the awkward places a crash can leave it, and tampering is refused.
"""
import time

import pytest

from engine.config import load_config
from fix_gateway.codec import decode, encode, utc_timestamp
from fix_gateway.settings import gateway_settings
from oms.recovery import recover
from oms.serve import Gateway, open_venue
from reporting.journal import Journal
from reporting.reader import JournalError
from reporting.records import inbound_record

T0 = 1_795_600_000_000_000_000


def _order(seq: int, cl: bytes, side: bytes, qty: bytes, price: bytes, sender=b"ALICE"):
    fields = [(34, seq), (49, sender), (52, utc_timestamp(T0)), (56, b"OMS"), (11, cl),
              (21, b"1"), (38, qty), (40, b"2"), (44, price), (54, side), (55, b"AAPL"),
              (59, b"1"), (60, utc_timestamp(T0))]
    return decode(encode(b"FIX.4.4", b"D", fields))


def _gateway(directory, clock=lambda: T0):
    config = load_config()
    venue = open_venue(config, str(directory / "journal"), "none", "test")
    gw = Gateway(gateway_settings(config), venue, store_dir=str(directory / "sessions"),
                 clock=clock)
    if venue.existing:
        recover(str(directory / "journal"), gw)
    return gw


def _close(gw):
    for s in gw.sessions.values():
        s.store.close()
    gw.venue.close()


def test_restart_rebuilds_book_and_clordids(tmp_path):
    gw = _gateway(tmp_path)
    alice = gw.sessions["FIX.4.4:OMS->ALICE"]
    gw._on_application(alice, _order(2, b"A1", b"1", b"100", b"187.00"))
    _close(gw)

    gw = _gateway(tmp_path)
    assert getattr(gw.venue.book, "engine", gw.venue.book).live_orders() == 1
    alice, bob = gw.sessions["FIX.4.4:OMS->ALICE"], gw.sessions["FIX.4.4:OMS->BOB"]
    gw._on_application(bob, _order(2, b"B1", b"2", b"100", b"187.00", b"BOB"))
    # ALICE's pre-restart order filled: its fill report is stored for her session
    sent = [decode(raw) for _, raw in alice.store.sent(1, alice.store.next_sender)]
    fills = [m for m in sent if m.msg_type == b"8" and m.get(11) == b"A1" and m.get(39) == b"2"]
    assert len(fills) == 1
    _close(gw)


def test_a_message_cut_short_by_a_crash_is_finished(tmp_path):
    gw = _gateway(tmp_path)
    alice = gw.sessions["FIX.4.4:OMS->ALICE"]
    msg = _order(2, b"A1", b"1", b"100", b"187.00")
    gw.venue.record_inbound(alice.name, T0, msg.raw)   # the crash: no command after it
    _close(gw)

    gw = _gateway(tmp_path)
    alice = gw.sessions["FIX.4.4:OMS->ALICE"]
    book = getattr(gw.venue.book, "engine", gw.venue.book)
    assert book.live_orders() == 1
    acks = [decode(raw) for _, raw in alice.store.sent(1, alice.store.next_sender)]
    assert [(m.get(11), m.get(150)) for m in acks if m.msg_type == b"8"] == [(b"A1", b"0")]
    _close(gw)
    gw = _gateway(tmp_path)                             # and the finished commands are journaled
    assert getattr(gw.venue.book, "engine", gw.venue.book).live_orders() == 1
    _close(gw)


def test_a_journal_whose_messages_disagree_with_its_commands_is_refused(tmp_path):
    gw = _gateway(tmp_path)
    alice = gw.sessions["FIX.4.4:OMS->ALICE"]
    gw._on_application(alice, _order(2, b"A1", b"1", b"100", b"187.00"))
    _close(gw)
    # append a message whose journaled command is another order's
    j = Journal(tmp_path / "journal", "none")
    j.append(inbound_record(alice.name, T0, _order(3, b"A2", b"1", b"5", b"187.00").raw))
    _close_journal(j)
    gw2 = _gateway(tmp_path)      # no commands after it: finished, fine
    _close(gw2)
    j = Journal(tmp_path / "journal", "none")
    from engine import msgpack_kernels as mp
    from engine.commands import NewOrder
    from reporting.stream import StreamWriter
    j.append(inbound_record(alice.name, T0, _order(4, b"A3", b"1", b"7", b"187.00").raw))
    StreamWriter(j).command(mp.COMMAND_ENCODER.encode(NewOrder(99, 0, 0, 1, 1, 1)), b"\x90")
    _close_journal(j)
    with pytest.raises(JournalError):
        _gateway(tmp_path)


def _close_journal(j):
    j.sync()
    j.close()


def test_the_clock_is_the_records_own(tmp_path):
    """Recovery runs each message at the time journaled with it, not now."""
    gw = _gateway(tmp_path)
    alice = gw.sessions["FIX.4.4:OMS->ALICE"]
    gw._on_application(alice, _order(2, b"A1", b"1", b"100", b"187.00"))
    _close(gw)
    gw = _gateway(tmp_path, clock=lambda: time.time_ns())   # a later clock
    _close(gw)      # recovery compared every command byte for byte: times included


def test_answers_journaled_but_never_sent_are_sent_after_a_crash(tmp_path):
    """The process stopped after the turn's journal sync, before the session
    store was written: the order is on the book, its acknowledgement never
    left. Recovery sends it and expects the client's next MsgSeqNum."""
    gw = _gateway(tmp_path)
    alice = gw.sessions["FIX.4.4:OMS->ALICE"]
    gw._on_application(alice, _order(2, b"A1", b"1", b"100", b"187.00"))
    gw.venue.close()                                   # journal durable; stores never flushed

    gw = _gateway(tmp_path)
    alice = gw.sessions["FIX.4.4:OMS->ALICE"]
    acks = [decode(raw) for _, raw in alice.store.sent(1, alice.store.next_sender)]
    assert [(m.get(11), m.get(150)) for m in acks if m.msg_type == b"8"] == [(b"A1", b"0")]
    assert alice.store.next_target == 3
    _close(gw)


def test_messages_before_a_sequence_reset_are_not_answered_again(tmp_path):
    gw = _gateway(tmp_path)
    alice = gw.sessions["FIX.4.4:OMS->ALICE"]
    gw._on_application(alice, _order(2, b"A1", b"1", b"100", b"187.00"))
    gw._on_application(alice, _order(3, b"A2", b"1", b"100", b"187.00"))
    logon = decode(encode(b"FIX.4.4", b"A", [(34, 1), (49, b"ALICE"), (52, utc_timestamp(T0)),
                                             (56, b"OMS"), (98, 0), (108, 30), (141, b"Y")]))
    alice.store.reset()
    gw._on_reset(alice, logon, T0)
    alice.store.incr_next_target()                     # the Logon itself
    _close(gw)

    gw = _gateway(tmp_path)
    alice = gw.sessions["FIX.4.4:OMS->ALICE"]
    assert alice.store.next_target == 2 and alice.store.sent(1, 100) == []
    _close(gw)
