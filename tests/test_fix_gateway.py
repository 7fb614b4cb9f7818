"""The FIX gateway end to end: a real `oms serve` child process, real sockets,
the default configuration's sessions (ALICE and BOB on FIX 4.4, FIRMA-MM
with a password, FIRMA-ARB on FIX 4.2, COMPLIANCE a drop copy).

Most tests share one server (`server`); each cleans up what it leaves in the
book (ALICE's orders go with her connection: cancel-on-disconnect). Restart
and TLS need their own folders and servers. After each bad-input test the
server must still take a fresh logon (`assert_alive`).
"""
from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from engine.config import load_config
from fix_client import Closed, FixClient, fields
from fix_gateway.codec import encode, utc_timestamp
from fix_gateway.dictionary import Dictionary
from fix_server import running_server

CONFIG_TEXT = load_config(None).text
PASSWORD = "demo"                      # FIRMA-MM's, per engine/default_config.toml
LOGON_TIMEOUT = 10.0                   # fix_gateway/acceptor.py, not configurable


# ------------------------------------------------------------------ helpers

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One `oms serve` for the module; also opens a connection that never
    logs on, for `test_connection_without_logon_is_closed` at the end."""
    workdir = tmp_path_factory.mktemp("shared")
    with running_server(workdir) as port:
        idle = socket.create_connection(("127.0.0.1", port))
        yield {"port": port, "idle": idle, "idle_since": time.monotonic()}
        idle.close()


@contextlib.contextmanager
def session(port: int, name: str, *, begin_string: str = "FIX.4.4", tries: int = 20, **logon):
    """A logged-on client of session `name` (141=Y); logs out at the end.
    A session whose previous connection the server has not released yet
    refuses the logon by closing: retried for a while."""
    client = connect(port, name, begin_string=begin_string, tries=tries, **logon)
    try:
        yield client
    finally:
        client.logout()


def connect(port: int, name: str, *, begin_string: str = "FIX.4.4", tries: int = 20,
            **logon) -> FixClient:
    for attempt in range(tries):
        client = FixClient(port, name, begin_string=begin_string)
        try:
            client.logon(**logon)
            return client
        except Closed:
            client.close()
            if attempt == tries - 1:
                raise
            time.sleep(0.1)
    raise AssertionError("unreachable")


def assert_alive(port: int, name: str = "BOB", begin_string: str = "FIX.4.4") -> None:
    """The server still takes a fresh logon and answers a TestRequest."""
    with session(port, name, begin_string=begin_string) as c:
        c.send(b"1", [(112, b"alive?")])
        assert c.expect(b"0").get(112) == b"alive?"


def report(client: FixClient, exec_type: str, clordid: bytes | None = None,
           timeout: float = 5.0):
    """The next message of `client`, which must be an ExecutionReport of
    ExecType `exec_type` (and ClOrdID `clordid`)."""
    msg = client.expect(b"8", timeout)
    assert msg.get(150) == exec_type.encode(), msg
    if clordid is not None:
        assert msg.get(11) == clordid, msg
    return msg


def config_with(tmp_path: Path, fix_lines: str) -> str:
    """The default configuration with `fix_lines` added to its [fix] table."""
    text = CONFIG_TEXT.replace("\n[fix]\n", f"\n[fix]\n{fix_lines}\n", 1)
    assert text != CONFIG_TEXT
    path = tmp_path / "oms.toml"
    path.write_text(text)
    return str(path)


# ------------------------------------------------------------------ logon

def test_logon_fix44_and_fix42(server):
    port = server["port"]
    with session(port, "ALICE") as alice, \
            session(port, "FIRMA-ARB", begin_string="FIX.4.2") as arb:
        alice_logon, arb_logon = alice.received[0], arb.received[0]
        assert fields(alice_logon, 8, 34, 49, 56, 98, 108, 141) == (
            "FIX.4.4", "1", "OMS", "ALICE", "0", "30", "Y")
        assert fields(arb_logon, 8, 34, 49, 56, 98, 108, 141) == (
            "FIX.4.2", "1", "OMS", "FIRMA-ARB", "0", "30", "Y")
        alice.send(b"5")
        assert alice.expect(b"5").get(34) == b"2"
        assert alice.expect_closed() == []


def test_second_connection_to_a_session_in_use_is_refused(server):
    port = server["port"]
    with session(port, "BOB") as bob:
        intruder = FixClient(port, "BOB")
        intruder.logon(expect=False)
        assert intruder.expect_closed() == []
        bob.send(b"1", [(112, b"still")])
        assert bob.expect(b"0").get(112) == b"still"


def test_short_heartbeat_interval_heartbeats_test_request_then_disconnect(server):
    """HeartBtInt 1: the server sends a Heartbeat when it has been quiet,
    a TestRequest when we have, and drops us when we stay silent."""
    with session(server["port"], "FIRMA-ARB", begin_string="FIX.4.2", heartbeat=1) as c:
        started = time.monotonic()
        got = []
        with pytest.raises(Closed):
            while True:
                got.append(c.read(4, answer_test_requests=False).msg_type)
        assert b"0" in got and b"1" in got, got
        assert got.index(b"0") < got.index(b"1")
        assert time.monotonic() - started < 4
    assert_alive(server["port"], "FIRMA-ARB", "FIX.4.2")


# ------------------------------------------------------------------ orders

def test_fill_between_two_sessions(server):
    """ALICE's buy rests partly against BOB's resting sell, then BOB fills
    the rest: both sides get their fills with the right quantities and prices."""
    port = server["port"]
    with session(port, "ALICE") as alice, session(port, "BOB") as bob:
        s1 = bob.new_order("sell", 40, "AAPL", "187.05")
        new = report(bob, "0", s1)
        assert fields(new, 1, 14, 38, 39, 44, 151, 6) == (
            "BOB", "0", "40", "0", "187.05", "40", "0")
        b1 = alice.new_order("buy", 100, "AAPL", "187.10")
        assert fields(report(alice, "0", b1), 39, 151) == ("0", "100")
        fill = report(alice, "F", b1)
        assert fields(fill, 31, 32, 14, 151, 39, 6, 851) == (
            "187.05", "40", "40", "60", "1", "187.05", "2")     # removed liquidity
        bob_fill = report(bob, "F", s1)
        assert fields(bob_fill, 31, 32, 14, 151, 39, 6, 851) == (
            "187.05", "40", "40", "0", "2", "187.05", "1")      # added liquidity
        assert fill.get(17) != bob_fill.get(17)
        assert fill.get(37) != bob_fill.get(37)

        s2 = bob.new_order("sell", 80, "AAPL", "187.00")
        assert fields(report(bob, "0", s2), 39, 151) == ("0", "80")
        bob_fill = report(bob, "F", s2)
        assert fields(bob_fill, 31, 32, 14, 151, 39, 6) == (
            "187.10", "60", "60", "20", "1", "187.10")
        fill = report(alice, "F", b1)
        assert fields(fill, 31, 32, 14, 151, 39, 6) == (
            "187.10", "60", "100", "0", "2", "187.08")          # (40x187.05 + 60x187.10)/100
        bob.cancel(s2, "sell", "AAPL")
        assert fields(report(bob, "4"), 39, 14, 151, 41) == ("4", "60", "0", s2.decode())
        alice.expect_nothing()


def test_replace_cancel_and_status(server):
    with session(server["port"], "ALICE") as alice:
        c1 = alice.new_order("buy", 100, "MSFT", "410.00", tif=b"1")
        order_id = report(alice, "0", c1).get(37)
        c2 = alice.next_id()
        alice.send(b"G", [(11, c2), (21, b"1"), (37, order_id), (38, b"150"), (40, b"2"),
                          (41, c1), (44, b"410.05"), (54, b"1"), (55, b"MSFT"),
                          (60, utc_timestamp(time.time_ns()))])
        replaced = report(alice, "5", c2)
        assert fields(replaced, 37, 38, 39, 41, 44, 59, 151, 14) == (
            order_id.decode(), "150", "0", c1.decode(), "410.05", "1", "150", "0")

        alice.send(b"H", [(11, c2), (54, b"1"), (55, b"MSFT")])
        status = report(alice, "I", c2)
        assert fields(status, 17, 37, 38, 39, 44, 151) == (
            "0", order_id.decode(), "150", "0", "410.05", "150")

        # a replace that changes OrdType is refused: OrderCancelReject, order untouched
        c3 = alice.next_id()
        alice.send(b"G", [(11, c3), (21, b"1"), (38, b"150"), (40, b"1"), (41, c2),
                          (54, b"1"), (55, b"MSFT"), (60, utc_timestamp(time.time_ns()))])
        rej = alice.expect(b"9")
        assert fields(rej, 11, 37, 39, 41, 434) == (c3.decode(), order_id.decode(), "0",
                                                    c2.decode(), "2")
        assert b"OrdType" in rej.get(58)

        # the first ClOrdID of the chain still finds the order
        x1 = alice.cancel(c1, "buy", "MSFT")
        cancelled = report(alice, "4", x1)
        assert fields(cancelled, 37, 39, 41, 151) == (order_id.decode(), "4", c2.decode(), "0")

        alice.send(b"H", [(11, x1), (54, b"1"), (55, b"MSFT")])
        assert report(alice, "I", x1).get(39) == b"4"

        x2 = alice.cancel(c1, "buy", "MSFT")     # already cancelled
        rej = alice.expect(b"9")
        assert fields(rej, 11, 39, 434) == (x2.decode(), "4", "1")

        x3 = alice.cancel(b"no-such-order", "buy", "MSFT")
        rej = alice.expect(b"9")
        assert fields(rej, 11, 37, 39, 102, 434) == (x3.decode(), "NONE", "8", "1", "1")

        alice.send(b"H", [(11, b"no-such-order"), (54, b"1"), (55, b"MSFT")])
        unknown = report(alice, "I", b"no-such-order")
        assert fields(unknown, 37, 39, 103) == ("NONE", "8", "5")


def test_ioc_market_and_replace_below_filled(server):
    port = server["port"]
    with session(port, "ALICE") as alice, session(port, "BOB") as bob:
        # an IOC with nothing to meet: New, then Canceled with a reason
        c = alice.new_order("buy", 10, "MSFT", "400.00", tif=b"3")
        report(alice, "0", c)
        gone = report(alice, "4", c)
        assert fields(gone, 39, 14, 151) == ("4", "0", "0")
        assert b"IOC" in gone.get(58)
        # a market order partly filled against BOB, the rest cancelled
        s1 = bob.new_order("sell", 4, "MSFT", "415.50")
        report(bob, "0", s1)
        m = alice.new_order("buy", 10, "MSFT")
        assert fields(report(alice, "0", m), 40, 44) == ("1", None)
        assert fields(report(alice, "F", m), 31, 32, 14, 151, 39) == (
            "415.50", "4", "4", "6", "1")
        assert fields(report(alice, "4", m), 39, 14, 151) == ("4", "4", "0")
        report(bob, "F", s1)
        # replaced below what is filled: amended to the filled quantity, filled
        s2 = bob.new_order("sell", 10, "MSFT", "415.60")
        report(bob, "0", s2)
        b2 = alice.new_order("buy", 6, "MSFT", "415.60")
        report(alice, "0", b2)
        report(alice, "F", b2)
        assert fields(report(bob, "F", s2), 14, 151, 39) == ("6", "4", "1")
        r = bob.next_id("R")
        bob.send(b"G", [(11, r), (21, b"1"), (38, b"3"), (40, b"2"), (41, s2),
                        (44, b"415.60"), (54, b"2"), (55, b"MSFT"),
                        (60, utc_timestamp(time.time_ns()))])
        replaced = report(bob, "5", r)
        assert fields(replaced, 38, 14, 151, 39, 41) == ("6", "6", "0", "2", s2.decode())


def test_mass_cancel(server):
    with session(server["port"], "BOB") as bob:
        ids = [bob.new_order("sell", 10, "AAPL", "190.00"),
               bob.new_order("sell", 10, "AAPL", "190.01"),
               bob.new_order("sell", 10, "MSFT", "420.00")]
        for c in ids:
            report(bob, "0", c)
        m1 = bob.next_id("M")
        bob.send(b"q", [(11, m1), (55, b"AAPL"), (60, utc_timestamp(time.time_ns())),
                        (530, b"1")])
        cancelled = {report(bob, "4").get(11) for _ in range(2)}
        assert cancelled == set(ids[:2])
        r = bob.expect(b"r")
        assert fields(r, 11, 55, 530, 531, 533) == (m1.decode(), "AAPL", "1", "1", "2")

        m2 = bob.next_id("M")
        bob.send(b"q", [(11, m2), (60, utc_timestamp(time.time_ns())), (530, b"7")])
        assert report(bob, "4", ids[2]).get(39) == b"4"
        assert fields(bob.expect(b"r"), 11, 530, 531, 533) == (m2.decode(), "7", "7", "1")

        m3 = bob.next_id("M")
        bob.send(b"q", [(11, m3), (60, utc_timestamp(time.time_ns())), (530, b"3")])
        assert fields(bob.expect(b"r"), 11, 531, 532) == (m3.decode(), "0", "0")


def test_fix42_fills_carry_exec_trans_type(server):
    port = server["port"]
    with session(port, "FIRMA-ARB", begin_string="FIX.4.2") as arb, \
            session(port, "BOB") as bob:
        c1 = arb.new_order("buy", 100, "AAPL", "187.20")
        new = report(arb, "0", c1)
        assert fields(new, 8, 20, 39, 151) == ("FIX.4.2", "0", "0", "100")
        s1 = bob.new_order("sell", 30, "AAPL", "187.20")
        report(bob, "0", s1)
        report(bob, "F", s1)
        partial = report(arb, "1", c1)                 # 4.2: ExecType 1, partial fill
        assert fields(partial, 20, 31, 32, 14, 151, 39, 6) == (
            "0", "187.20", "30", "30", "70", "1", "187.20")
        assert partial.get(851) is None                # not a 4.2 field
        arb.send(b"H", [(11, c1), (54, b"1"), (55, b"AAPL")])
        status = report(arb, "1", c1)                  # 4.2 status: ExecTransType 3
        assert fields(status, 17, 20, 39, 14) == ("0", "3", "1", "30")
        s2 = bob.new_order("sell", 70, "AAPL", "187.00")
        report(bob, "0", s2)
        report(bob, "F", s2)
        filled = report(arb, "2", c1)                  # 4.2: ExecType 2, fill
        assert fields(filled, 20, 31, 32, 14, 151, 39) == ("0", "187.20", "70", "100", "0", "2")
        arb.send(b"q", [(11, b"M1"), (60, utc_timestamp(time.time_ns())), (530, b"7")])
        rej = arb.expect(b"3")                         # no OrderMassCancelRequest in 4.2
        assert fields(rej, 372, 373) == ("q", "11")


# ------------------------------------------------------------------ drop copy

def test_drop_copy_receives_every_execution_report(server):
    port = server["port"]
    with session(port, "COMPLIANCE") as dc, session(port, "ALICE") as alice, \
            session(port, "BOB") as bob:
        b1 = alice.new_order("buy", 20, "AAPL", "186.50")
        sent = [report(alice, "0", b1)]
        s1 = bob.new_order("sell", 20, "AAPL", "186.50")
        sent += [report(bob, "0", s1), report(bob, "F", s1), report(alice, "F", b1)]
        bad = bob.new_order("sell", 1, "NOPE", "1.00")
        sent.append(report(bob, "8", bad))
        copies = [dc.expect(b"8") for _ in sent]
        dc.expect_nothing()

        def key(m):
            return fields(m, 1, 11, 17, 150, 14, 151)
        assert sorted(map(key, copies)) == sorted(map(key, sent))
        assert all(m.get(56) == b"COMPLIANCE" for m in copies)


def test_drop_copy_of_a_fix42_session_speaks_fix44(server):
    """FIRMA-ARB's reports reach the 4.4 drop copy in 4.4's words."""
    port = server["port"]
    with session(port, "COMPLIANCE") as dc, session(port, "BOB") as bob, \
            session(port, "FIRMA-ARB", begin_string="FIX.4.2") as arb:
        c = arb.new_order("buy", 5, "AAPL", "181.00")
        report(arb, "0", c)
        s1 = bob.new_order("sell", 5, "AAPL", "181.00")
        report(bob, "0", s1)
        report(bob, "F", s1)
        assert report(arb, "2", c).get(20) == b"0"
        copies = [dc.expect(b"8") for _ in range(4)]
        dictionary = Dictionary.for_version("FIX.4.4")
        for m in copies:
            assert m.get(20) is None, m
            assert dictionary.validate(m.fields, b"8") is None, m
        arb_copies = [fields(m, 150, 39) for m in copies if m.get(11) == c]
        assert arb_copies == [("0", "0"), ("F", "2")]


def test_drop_copy_session_cannot_send_orders(server):
    with session(server["port"], "COMPLIANCE") as dc:
        dc.new_order("buy", 1, "AAPL", "187.00")
        rej = dc.expect(b"j")
        assert fields(rej, 372, 380) == ("D", "6")
        assert b"drop copy" in rej.get(58)
        dc.cancel(b"anything", "buy", "AAPL")
        assert dc.expect(b"j").get(380) == b"6"


# ------------------------------------------------------------------ accounts

def test_a_session_cannot_touch_another_accounts_orders(server):
    port = server["port"]
    with session(port, "ALICE") as alice, session(port, "BOB") as bob:
        a1 = alice.new_order("buy", 10, "AAPL", "180.00")
        order_id = report(alice, "0", a1).get(37)
        x1 = bob.cancel(a1, "buy", "AAPL")
        rej = bob.expect(b"9")
        assert fields(rej, 11, 37, 39, 102, 434) == (x1.decode(), "NONE", "8", "1", "1")
        bob.send(b"F", [(11, bob.next_id("X")), (37, order_id), (41, a1), (54, b"1"),
                        (55, b"AAPL"), (60, utc_timestamp(time.time_ns()))])
        assert fields(bob.expect(b"9"), 37, 102) == ("NONE", "1")
        bob.send(b"G", [(11, bob.next_id("R")), (21, b"1"), (37, order_id), (38, b"5"),
                        (40, b"2"), (41, a1), (44, b"180.00"), (54, b"1"), (55, b"AAPL"),
                        (60, utc_timestamp(time.time_ns()))])
        assert fields(bob.expect(b"9"), 37, 102, 434) == ("NONE", "1", "2")
        bob.send(b"H", [(11, a1), (37, order_id), (54, b"1"), (55, b"AAPL")])
        assert fields(report(bob, "I"), 37, 39) == ("NONE", "8")
        # the Account field cannot borrow another account either
        b2 = bob.new_order("buy", 10, "AAPL", "180.00", extra=[(1, b"ALICE")])
        assert b"not this session's account" in report(bob, "8", b2).get(58)
        alice.expect_nothing()
        alice.send(b"H", [(11, a1), (54, b"1"), (55, b"AAPL")])
        assert fields(report(alice, "I", a1), 39, 151) == ("0", "10")


# ------------------------------------------------------------------ rejects

@pytest.mark.parametrize("symbol, qty, price, rej_reason, text", [
    ("AAPL", 2000000, "187.00", "3", "max order qty"),        # risk: [risk.defaults]
    ("AAPL", 100, "187.005", "99", "tick"),                   # off the 0.01 grid
    ("NOPE", 100, "1.00", "1", "NOPE"),                       # unknown symbol
    ("AAPL", 100, "250.00", "3", "collar"),                   # risk: 5% around 187.00
    ("F", 150, "12.00", "99", "lot"),                         # engine: lots of 100
])
def test_rejects_reach_fix_with_reason_and_text(server, symbol, qty, price, rej_reason, text):
    with session(server["port"], "ALICE") as alice:
        c = alice.new_order("buy", qty, symbol, price)
        rej = report(alice, "8", c)
        assert fields(rej, 39, 103, 151, 14) == ("8", rej_reason, "0", "0"), rej
        assert text.lower() in rej.get(58).decode().lower(), rej
        # a refused order does not use up its ClOrdID
        alice.new_order("buy", 1, "AAPL", "187.00", clordid=c)
        report(alice, "0", c)


def test_duplicate_clordid_is_refused(server):
    with session(server["port"], "ALICE") as alice:
        c = alice.new_order("buy", 1, "AAPL", "180.00")
        report(alice, "0", c)
        alice.new_order("buy", 1, "AAPL", "180.00", clordid=c)
        rej = report(alice, "8", c)
        assert fields(rej, 37, 103) == ("NONE", "6")
        assert b"duplicate ClOrdID" in rej.get(58)


# ------------------------------------------------------------------ cancel on disconnect

def test_cancel_on_disconnect(server):
    port = server["port"]
    with session(port, "COMPLIANCE") as dc, session(port, "BOB") as bob:
        alice = connect(port, "ALICE")
        a1 = alice.new_order("buy", 50, "AAPL", "187.30")
        report(alice, "0", a1)
        assert dc.expect(b"8").get(11) == a1
        alice.sock.close()                          # dropped, no Logout
        gone = dc.expect(b"8")
        assert fields(gone, 1, 11, 39, 150, 151, 58) == (
            "ALICE", a1.decode(), "4", "4", "0", "cancelled on disconnect")
        bob.expect_nothing()
        s1 = bob.new_order("sell", 50, "AAPL", "187.30")
        assert fields(report(bob, "0", s1), 39, 151) == ("0", "50")
        bob.expect_nothing()                        # nothing to fill against
        bob.cancel(s1, "sell", "AAPL")
        report(bob, "4")


def test_logout_also_cancels_alices_orders(server):
    port = server["port"]
    with session(port, "ALICE") as alice:
        a1 = alice.new_order("buy", 5, "MSFT", "414.00", tif=b"1")
        report(alice, "0", a1)
    with session(port, "ALICE") as alice, session(port, "BOB") as bob:
        s1 = bob.new_order("sell", 5, "MSFT", "414.00")
        report(bob, "0", s1)
        bob.expect_nothing()
        bob.cancel(s1, "sell", "MSFT")
        report(bob, "4")
        alice.expect_nothing()


# ------------------------------------------------------------------ security, bad input

def test_unknown_comp_id_is_closed_without_answer(server):
    port = server["port"]
    c = FixClient(port, "MALLORY")
    c.logon(expect=False)
    assert c.expect_closed() == []
    c = FixClient(port, "ALICE", target="NOT-OMS")
    c.logon(expect=False)
    assert c.expect_closed() == []
    c = FixClient(port, "ALICE", begin_string="FIX.4.2")    # ALICE speaks 4.4
    c.logon(expect=False)
    assert c.expect_closed() == []
    assert_alive(port)


@pytest.mark.parametrize("password", [None, "wrong", "DEMO", ""])
def test_wrong_password_is_refused(server, password):
    port = server["port"]
    c = FixClient(port, "FIRMA-MM")
    c.logon(password=password, expect=False)
    assert c.expect_closed() == []
    with session(port, "FIRMA-MM", password=PASSWORD) as mm:
        assert mm.received[0].get(554) is None       # the password is not echoed
        m1 = mm.new_order("sell", 10, "AAPL", "199.00")
        assert report(mm, "8", m1).get(58)           # outside the collar, but it got in
    assert_alive(port)


@pytest.mark.parametrize("garbage", [b"garbage\x01", b"\x00\xff" * 50 + b"\x01",
                                     b"8=FIX.4.4\x019=oops\x01", b"\x01"])
def test_garbage_before_logon_is_skipped(server, garbage):
    port = server["port"]
    c = FixClient(port, "BOB")
    c.send_raw(garbage)
    time.sleep(0.05)
    try:
        c.logon()
        c.send(b"1", [(112, b"after-garbage")])
        assert c.expect(b"0").get(112) == b"after-garbage"
    finally:
        c.logout()
    assert_alive(port)


def test_garbage_without_soh_before_logon_is_skipped(server):
    port = server["port"]
    c = FixClient(port, "BOB", timeout=1)
    try:
        c.send_raw(b"garbage" + c.message(b"A", [(98, 0), (108, 30), (141, b"Y")]))
        assert c.expect(b"A")
    finally:
        c.logout()
        assert_alive(port)


def _valid_after(c: FixClient, what: bytes) -> None:
    """The session goes on: a TestRequest with the MsgSeqNum the bad message
    did not use up is answered."""
    c.send(b"1", [(112, what)])
    assert c.expect(b"0").get(112) == what


def test_bad_frames_are_ignored_and_the_session_continues(server):
    with session(server["port"], "BOB") as bob:
        seq = bob.seq
        good = bob.message(b"1", [(112, b"x")], seq=seq)
        # no 8= at all
        bob.send_raw(good[good.index(b"\x01") + 1:])
        bob.expect_nothing(0.2)
        _valid_after(bob, b"no-begin-string")
        # a wrong BodyLength (too short, too long by one) and a wrong CheckSum
        seq = bob.seq
        good = bob.message(b"1", [(112, b"y")], seq=seq)
        length = good.split(b"\x01")[1]
        n = int(length[2:])
        for bad_length in (n - 5, n + 1):
            bob.send_raw(good.replace(length, b"9=%d" % bad_length, 1))
        checksum = int(good[-4:-1])
        bob.send_raw(good[:-4] + b"%03d\x01" % ((checksum + 1) % 256))
        bob.expect_nothing(0.2)
        _valid_after(bob, b"after-bad-length-and-checksum")
        # well framed, but MsgSeqNum is not a number: a session Reject, nothing else
        bob.send_raw(encode(b"FIX.4.4", b"1", [(34, b"x"), (49, b"BOB"),
                                               (52, utc_timestamp(time.time_ns())),
                                               (56, b"OMS"), (112, b"z")]))
        assert fields(bob.expect(b"3"), 45, 371, 373) == ("x", "34", "6")
        _valid_after(bob, b"still-on")
    assert_alive(server["port"])


def test_oversize_message_harms_nobody_else(server):
    """A message over 64 KiB drops its sender's connection; others are served."""
    port = server["port"]
    with session(port, "ALICE") as alice:
        bob = connect(port, "BOB")
        try:
            with contextlib.suppress(OSError):
                bob.send(b"1", [(112, b"x" * (70 << 10))])
            bob.expect_closed(5)
        finally:
            bob.close()
        _valid_after(alice, b"alice-unaffected")
    assert_alive(port)


def test_message_that_never_ends_drops_the_connection(server):
    """A frame whose CheckSum never comes (BodyLength wrong, no 10=) may not
    grow the buffer past 64 KiB: the connection is dropped, others served."""
    port = server["port"]
    with session(port, "ALICE") as alice:
        bob = connect(port, "BOB")
        with contextlib.suppress(OSError):
            bob.send_raw(b"8=FIX.4.4\x019=100\x0135=1\x01112=" + b"x" * (65 << 10))
        with contextlib.suppress(OSError):
            bob.send_raw(b"x" * 1024)
        bob.expect_closed()
        bob.close()
        _valid_after(alice, b"alice-unaffected")
    assert_alive(port)


def test_oversize_logon_gets_no_answer(server):
    port = server["port"]
    c = FixClient(port, "BOB")
    try:
        c.send(b"A", [(58, b"x" * (70 << 10)), (98, 0), (108, 30), (141, b"Y")])
        with pytest.raises((TimeoutError, Closed)):
            c.read(0.5)
    finally:
        c.close()
    assert_alive(port)


def test_client_that_does_not_read_is_disconnected(server):
    """BOB floods refused orders with long ClOrdIDs (each echoed in a ~60 KB
    ExecutionReport) and never reads: past the acceptor's bound on unsent
    output (16 MiB, fixed) the server drops BOB, and only BOB."""
    port = server["port"]
    with session(port, "ALICE") as alice:
        bob = FixClient(port, "BOB")
        bob.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        bob.logon()
        started = time.monotonic()
        sent = 0
        with contextlib.suppress(OSError):
            while sent < 2000 and time.monotonic() - started < 60:
                bob.new_order("buy", 1, "NOPE", "1.00", clordid=b"%06d" % sent + b"x" * 60000)
                sent += 1
            for _ in range(5):                       # the reset shows on the next send
                time.sleep(0.2)
                bob.send(b"0")
            pytest.fail(f"not dropped after {sent} reports of 60 KB unread")
        assert sent > (16 << 20) // 60000, sent      # not before the bound
        bob.close()
        _valid_after(alice, b"alice-unaffected")
    assert_alive(port)


# ------------------------------------------------------------------ TLS

def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    try:
        from cryptography import x509  # noqa: F401
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("neither the cryptography package nor the openssl CLI")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", str(key), "-out", str(cert), "-days", "1",
                        "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
        return cert, key
    import datetime

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(private.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .sign(private, hashes.SHA256()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.TraditionalOpenSSL,
                                          serialization.NoEncryption()))
    return cert, key


def test_tls(tmp_path):
    cert, key = _self_signed(tmp_path)
    config = config_with(tmp_path, f'tls_certificate = "{cert}"\ntls_key = "{key}"')
    tls = ssl.create_default_context(cafile=str(cert))
    tls.check_hostname = False
    with running_server(tmp_path, "--config", config) as port:
        alice = FixClient(port, "ALICE", tls=tls)
        alice.logon()
        c = alice.new_order("buy", 1, "AAPL", "187.00")
        assert report(alice, "0", c).get(39) == b"0"
        alice.logout()
        # plain text on a TLS port: dropped, the server goes on
        plain = FixClient(port, "BOB")
        with contextlib.suppress(OSError):
            plain.logon(expect=False)
        with contextlib.suppress(OSError, Closed):
            plain.expect_closed()
        plain.close()
        bob = FixClient(port, "BOB", tls=tls)
        bob.logon()
        bob.logout()


# ------------------------------------------------------------------ restart

@pytest.fixture(scope="module")
def restarted(tmp_path_factory):
    """BOB rests two sells and ALICE trades once; the server is stopped
    (SIGTERM) and started again on the same folder; BOB logs on again
    without a reset. Yields what the tests need; the server runs meanwhile."""
    workdir = tmp_path_factory.mktemp("restart")
    state = {}
    with running_server(workdir) as port:
        bob = connect(port, "BOB")
        alice = connect(port, "ALICE")
        state["b1"] = bob.new_order("sell", 100, "AAPL", "187.50", tif=b"1")
        state["b1_id"] = report(bob, "0", state["b1"]).get(37)
        state["b2"] = bob.new_order("sell", 50, "AAPL", "188.00", tif=b"1")
        report(bob, "0", state["b2"])
        s3 = bob.new_order("sell", 10, "AAPL", "187.40")
        report(bob, "0", s3)
        state["a_rest"] = alice.new_order("buy", 5, "AAPL", "180.00", tif=b"1")
        report(alice, "0", state["a_rest"])
        a1 = alice.new_order("buy", 10, "AAPL", "187.40")
        report(alice, "0", a1)
        report(alice, "F", a1)
        report(bob, "F", s3)
    bob.expect(b"5")                      # the server logged everyone out
    bob.expect_closed()
    alice.close()
    state["bob_next"] = bob.seq
    state["server_last"] = int(bob.received[-1].get(34))
    state["bob_sent_reports"] = [int(m.get(34)) for m in bob.received if m.msg_type == b"8"]
    with running_server(workdir) as port:
        bob2 = FixClient(port, "BOB")
        bob2.seq = state["bob_next"]
        state["logon"] = bob2.logon(reset=False)
        state.update(port=port, bob=bob2)
        yield state
        bob2.logout()


def test_restart_continues_sequence_numbers(restarted):
    logon = restarted["logon"]
    assert logon.get(141) is None
    assert int(logon.get(34)) == restarted["server_last"] + 1
    bob = restarted["bob"]
    _valid_after(bob, b"after-restart")


def test_restart_resend_request_is_served_from_before(restarted):
    bob = restarted["bob"]
    bob.send(b"2", [(7, 1), (16, 0)])
    resent = {}
    gap_fills = []
    last = int(restarted["logon"].get(34))
    while True:
        m = bob.read()
        assert m.get(43) == b"Y", m
        if m.msg_type == b"4":
            assert m.get(123) == b"Y"
            gap_fills.append((int(m.get(34)), int(m.get(36))))
            if int(m.get(36)) > last:
                break
        else:
            assert m.msg_type == b"8", m
            assert m.get(122) is not None and m.get(122) <= m.get(52)
            resent[int(m.get(34))] = m
    assert sorted(resent) == restarted["bob_sent_reports"]
    assert resent[restarted["bob_sent_reports"][0]].get(11) == restarted["b1"]
    assert gap_fills[0] == (1, 2)                  # our Logon
    _valid_after(bob, b"after-resend")


def test_restart_rebuilds_the_book_from_the_journal(restarted):
    """ALICE's buy meets BOB's sell from before the restart."""
    with session(restarted["port"], "ALICE") as alice:
        a2 = alice.new_order("buy", 100, "AAPL", "187.60")
        assert fields(report(alice, "0", a2), 39, 151) == ("0", "100")
        fill = report(alice, "F", a2)
        assert fields(fill, 31, 32, 14, 151, 39, 6) == (
            "187.50", "100", "100", "0", "2", "187.50")


def test_restart_fill_of_an_order_from_before_is_reported_to_its_owner(restarted):
    """(after `test_restart_rebuilds_the_book_from_the_journal`)"""
    bob = restarted["bob"]
    fill = report(bob, "F", restarted["b1"])
    assert fields(fill, 31, 32, 14, 151, 39, 37) == (
        "187.50", "100", "100", "0", "2", restarted["b1_id"].decode())


def test_restart_cancel_an_order_from_before_by_clordid(restarted):
    bob = restarted["bob"]
    x = bob.cancel(restarted["b2"], "sell", "AAPL")
    cancelled = report(bob, "4", x)
    assert fields(cancelled, 39, 41, 151) == ("4", restarted["b2"].decode(), "0")


def test_restart_new_orders_get_fresh_order_ids(restarted):
    bob = restarted["bob"]
    c = bob.new_order("sell", 1, "AAPL", "195.00")
    new = report(bob, "0", c)
    assert int(new.get(37)) > int(restarted["b1_id"])
    bob.cancel(c, "sell", "AAPL")
    report(bob, "4")


def test_restart_knows_orders_cancelled_on_disconnect_before(restarted):
    """ALICE's resting order was cancelled when the stop logged her out; the
    gateway, rebuilt, still says so."""
    with session(restarted["port"], "ALICE") as alice:
        a = restarted["a_rest"]
        alice.send(b"H", [(11, a), (54, b"1"), (55, b"AAPL")])
        assert fields(report(alice, "I", a), 39, 151) == ("4", "0")


# ------------------------------------------------------------------ last: timeouts

def test_logon_timeout_is_configurable(tmp_path):
    config = config_with(tmp_path, "logon_timeout = 1")
    with running_server(tmp_path, "--config", config) as port:
        c = FixClient(port, "BOB")
        t = time.monotonic()
        c.expect_closed(5)
        assert time.monotonic() - t < 3


def test_connection_without_logon_is_closed(server):
    """The connection the module's server fixture opened and never used is
    closed after the logon timeout (10 s; most of it has passed by now)."""
    idle = server["idle"]
    left = LOGON_TIMEOUT + 3 - (time.monotonic() - server["idle_since"])
    idle.settimeout(max(left, 0.5))
    assert idle.recv(100) == b""
    assert_alive(server["port"])
