"""The FIX order application layer (`fix_gateway.orders`) against a real book
behind the pre-trade checks of the built-in venue: the fields of every report,
FIX 4.2 and 4.4, and the order state change matrices of FIX 4.4 Volume 4
Appendix D that a book answering at once can show.

Venue (engine/default_config.toml): accounts ALICE 0, BOB 1, FIRMA-MM 2,
FIRMA-ARB 3 (STP decrement, group FIRM-A); AAPL tick 0.01 with a 5% collar
around 187.00; F trades in lots of 100.
"""
import pytest

from engine.commands import ExpireOrders, NewOrder
from engine.config import load_config
from engine.enums import Side
from engine.matching import MatchingEngine
from engine.refdata import ReferenceData
from fix_gateway.codec import body_fields
from fix_gateway.exec_reports import avg_px
from fix_gateway.orders import Inbound, OrderEntry, Outbound
from risk.gate import RiskGate

NOW = 1_700_000_000_123_000_000          # 2023-11-14 22:13:20.123 UTC
ALICE, BOB, ARB = 0, 1, 3


class Venue:
    """A gate, the application layer on it, and a send helper per session."""

    def __init__(self, **kwargs):
        self.gate = RiskGate(load_config())
        self.oe = OrderEntry(self.gate.ref, self.gate.submit,
                             reject_text=self.gate.reject_detail, **kwargs)
        self.seq = 0

    def send(self, session: str, account: int, msg_type: str, fields: dict,
             fix: str = "FIX.4.4") -> list[Outbound]:
        self.seq += 1
        msg = Inbound(session, account, fix.encode(), msg_type.encode(),
                      [(tag, str(v).encode()) for tag, v in fields.items()], self.seq)
        return checked(self.oe.on_message(msg, NOW))


def body(m: Outbound) -> list[tuple[int, bytes]]:
    """The body as (tag, value): ExecutionReports come encoded, others as lists."""
    return body_fields(m.body) if isinstance(m.body, bytes) else m.body


def checked(out: list[Outbound]) -> list[Outbound]:
    """Every body: no tag twice, no empty value; lists in ascending tag order."""
    for m in out:
        tags = [t for t, _ in body(m)]
        assert len(tags) == len(set(tags)), tags
        if not isinstance(m.body, bytes):
            assert tags == sorted(tags), tags
        assert all(isinstance(v, bytes) and v for _, v in body(m)), m.body
    return out


def fields(m: Outbound) -> dict[int, str]:
    return {t: v.decode() for t, v in body(m)}


def only(out: list[Outbound]) -> dict[int, str]:
    assert len(out) == 1, out
    return fields(out[0])


def new(clordid, qty=100, price="187.00", side=1, symbol="AAPL", extra=None):
    f = {11: clordid, 55: symbol, 54: side, 38: qty, 40: 2, 44: price}
    f.update(extra or {})
    return {k: v for k, v in f.items() if v is not None}


def cancel(clordid, orig, side=1, symbol="AAPL"):
    return {11: clordid, 41: orig, 55: symbol, 54: side}


def replace(clordid, orig, qty, price="187.00", side=1, symbol="AAPL"):
    return {11: clordid, 41: orig, 55: symbol, 54: side, 38: qty, 40: 2, 44: price}


@pytest.fixture
def v():
    return Venue()


# ------------------------------------------------------------------ new orders

def test_new_order_is_acknowledged_new(v):
    out = v.send("A", ALICE, "D", new("X1", 100, "187.5", extra={60: "20231114-22:13:20"}))
    assert out[0].session == "A" and out[0].account == ALICE and out[0].msg_type == b"8"
    r = only(out)
    assert r == {1: "ALICE", 6: "0", 11: "X1", 14: "0", 17: r[17], 37: "1", 38: "100",
                 39: "0", 40: "2", 44: "187.5", 54: "1", 55: "AAPL", 59: "0",
                 60: "20231114-22:13:20.123", 150: "0", 151: "100"}
    assert v.oe.order(1).price == 18750          # the price in ticks, exactly


def test_fix42_new_has_exec_trans_type(v):
    r = only(v.send("B", BOB, "D", new("Y1", 10, "188.00", side=2), fix="FIX.4.2"))
    assert (r[20], r[150], r[39]) == ("0", "0", "0")


def test_partial_then_full_fill_44(v):
    v.send("A", ALICE, "D", new("X1", 100))
    out = v.send("B", BOB, "D", new("Y1", 30, side=2))
    alice = [fields(m) for m in out if m.session == "A"]
    assert len(alice) == 1
    f = alice[0]
    assert (f[150], f[39], f[32], f[31], f[14], f[151], f[6], f[851]) == \
        ("F", "1", "30", "187.00", "30", "70", "187.00", "1")      # resting: added liquidity
    assert 1057 not in f                                            # not a 4.4 field
    out = v.send("B", BOB, "D", new("Y2", 70, side=2))
    f = fields([m for m in out if m.session == "A"][0])
    assert (f[150], f[39], f[32], f[14], f[151]) == ("F", "2", "70", "100", "0")
    assert v.oe.order(1).status == b"2"


def test_partial_then_full_fill_42(v):
    v.send("A", ALICE, "D", new("X1", 100), fix="FIX.4.2")
    f = fields([m for m in v.send("B", BOB, "D", new("Y1", 30, side=2)) if m.session == "A"][0])
    assert (f[20], f[150], f[39], f[32], f[14], f[151]) == ("0", "1", "1", "30", "30", "70")
    assert 851 not in f and 1057 not in f
    f = fields([m for m in v.send("B", BOB, "D", new("Y2", 70, side=2)) if m.session == "A"][0])
    assert (f[20], f[150], f[39], f[14], f[151]) == ("0", "2", "2", "100", "0")


def test_both_sides_of_a_trade_get_their_fill(v):
    v.send("A", ALICE, "D", new("X1", 50), fix="FIX.4.2")
    out = v.send("B", BOB, "D", new("Y1", 50, side=2))
    assert [(m.session, fields(m)[150]) for m in out] == [("B", "0"), ("A", "2"), ("B", "F")]
    a, b = fields(out[1]), fields(out[2])
    assert (a[11], a[54], a[32], b[11], b[54], b[32], b[851]) == \
        ("X1", "1", "50", "Y1", "2", "50", "2")                  # aggressor removed liquidity
    assert len({fields(m)[17] for m in out}) == 3                 # unique ExecIDs


def test_aggressor_indicator_is_opt_in():
    v = Venue(aggressor_indicator=True)
    v.send("A", ALICE, "D", new("X1", 50))
    out = v.send("B", BOB, "D", new("Y1", 50, side=2))
    assert [fields(m).get(1057) for m in out] == [None, "N", "Y"]


def test_avg_px_is_exact_over_fills_at_different_prices(v):
    for i, price in enumerate(["187.01", "187.00", "187.00"]):
        v.send("B", BOB, "D", new(f"Y{i}", 10, price, side=2))
    out = v.send("A", ALICE, "D", new("X1", 30, "187.01"))
    fills = [fields(m) for m in out if m.session == "A" and fields(m)[150] == "F"]
    # (18700 + 18700 + 18701) / 3 ticks: no exact decimal, 6 places past the tick
    assert [(f[31], f[14], f[6]) for f in fills] == [
        ("187.00", "10", "187.00"), ("187.00", "20", "187.00"), ("187.01", "30", "187.00333333")]
    v.send("B", BOB, "D", new("Y8", 10, "187.01", side=2))
    v.send("B", BOB, "D", new("Y9", 10, "187.02", side=2))
    out = v.send("A", ALICE, "D", new("X2", 20, "187.02"))
    f = fields([m for m in out if m.session == "A"][-1])
    assert f[6] == "187.015"                                    # exact: no rounding needed


def test_avg_px_formatting():
    from engine.prices import Tick
    quarter = Tick.parse("0.25")
    assert avg_px(4 * 20001, 4, quarter) == b"5000.25"
    assert avg_px(20000 + 20001, 2, quarter) == b"5000.125"
    assert avg_px(3 * 18700 + 18701, 4, Tick.parse("0.01")) == b"187.0025"
    assert avg_px(2 * 10 + 11, 3, Tick.parse("1")) == b"10.333333"


# ------------------------------------------------------------------ refusals at the edge

@pytest.mark.parametrize("extra, text", [
    ({54: "7"}, "unsupported Side '7'"),
    ({40: "P"}, "unsupported OrdType 'P'"),
    ({59: "2"}, "unsupported TimeInForce '2'"),
    ({59: "6"}, "unsupported TimeInForce '6'"),
    ({18: "G"}, "unsupported ExecInst 'G': only 6 (participate, don't initiate: post-only)"),
    ({38: "100.5"}, "OrderQty (38) '100.5' is not a whole number"),
    ({38: "1e2"}, "OrderQty (38) '1e2' is not an integer"),
    ({44: "187.001"}, "price 187.001 is not on the tick grid of 0.01"),
    ({44: "1e2"}, "price '1e2' is not a decimal number"),
    ({44: None}, "missing price"),
    ({1: "BOB"}, "Account 'BOB' is not this session's account 'ALICE'"),
])
def test_bad_fields_are_rejected_with_other(v, extra, text):
    r = only(v.send("A", ALICE, "D", new("X1", extra=extra)))
    assert (r[150], r[39], r[103], r[58], r[37], r[151], r[14]) == \
        ("8", "8", "99", text, "NONE", "0", "0")
    assert r[17].startswith("G")
    assert r[55] == "AAPL" and r[11] == "X1"


def test_rejected_fields_are_echoed(v):
    r = only(v.send("A", ALICE, "D", new("X1", "100.5", "187.001", extra={59: "1", 111: "10"})))
    assert (r[38], r[44], r[59], r[111]) == ("100.5", "187.001", "1", "10")


def test_fix42_has_no_other_reason(v):
    r = only(v.send("A", ALICE, "D", new("X1", extra={54: "7"}), fix="FIX.4.2"))
    assert (r[20], r[150], r[103]) == ("0", "8", "0")      # 4.2: 0-8 only, 0 = broker option


def test_quantity_as_a_float_with_zero_fraction_is_taken(v):
    r = only(v.send("A", ALICE, "D", new("X1", "100.0")))
    assert (r[150], r[38], r[151]) == ("0", "100", "100")


def test_unknown_symbol(v):
    r = only(v.send("A", ALICE, "D", new("X1", symbol="NOPE")))
    assert (r[150], r[103], r[58], r[55]) == ("8", "1", "unknown symbol 'NOPE'", "NOPE")


def test_own_account_may_be_named(v):
    assert only(v.send("A", ALICE, "D", new("X1", extra={1: "ALICE"})))[150] == "0"


def test_engine_and_risk_rejects(v):
    r = only(v.send("A", ALICE, "D", new("X1", 0)))
    assert (r[150], r[103], r[58], r[37]) == ("8", "99", "quantity must be positive", "1")
    r = only(v.send("A", ALICE, "D", new("X2", 150, "12.00", symbol="F")))
    assert (r[103], r[58]) == ("99", "quantity is not a multiple of the lot size")
    r = only(v.send("A", ALICE, "D", new("X3", 2_000_000)))
    assert (r[103], r[58]) == ("3", "max order qty 1000000 exceeded: 2000000")
    r = only(v.send("A", ALICE, "D", new("X4", 10, "250.00")))
    assert (r[103], r[58]) == ("3", "price collar: 250.00 is above the collar 196.35")


def test_duplicate_clordid(v):
    v.send("A", ALICE, "D", new("X1", 10))
    r = only(v.send("A", ALICE, "D", new("X1", 20)))
    assert (r[150], r[39], r[103], r[58]) == ("8", "8", "6", "duplicate ClOrdID 'X1'")
    v.send("A", ALICE, "F", cancel("X2", "X1"))
    assert only(v.send("A", ALICE, "D", new("X1", 20)))[103] == "6"    # done, still today
    assert only(v.send("A", ALICE, "D", new("X2", 20)))[103] == "6"    # the cancel's id
    assert only(v.send("A2", ALICE, "D", new("X1", 20)))[103] == "6"   # same account
    other_account = v.send("B", BOB, "D", new("X1", 20, "188.00", side=2))
    assert only(other_account)[150] == "0"
    assert v.oe.new_trading_day() == 1
    assert only(v.send("A", ALICE, "D", new("X1", 20)))[150] == "0"


def test_a_refused_order_does_not_use_up_its_clordid(v):
    assert only(v.send("A", ALICE, "D", new("X1", price="187.001")))[150] == "8"
    assert only(v.send("A", ALICE, "D", new("X1", 0)))[150] == "8"        # engine reject
    assert only(v.send("A", ALICE, "D", new("X1")))[150] == "0"


# ------------------------------------------------------------------ order types

def test_iceberg(v):
    r = only(v.send("A", ALICE, "D", new("X1", 100, extra={111: 10})))
    assert (r[111], r[151]) == ("10", "100")
    assert v.gate.engine.top(0).bid_qty == 10                    # only the tip shows
    out = v.send("B", BOB, "D", new("Y1", 25, side=2))
    fills = [fields(m) for m in out if m.session == "A"]
    assert [(f[32], f[14], f[151], f[111]) for f in fills] == [
        ("10", "10", "90", "10"), ("10", "20", "80", "10"), ("5", "25", "75", "10")]


def test_post_only(v):
    r = only(v.send("A", ALICE, "D", new("X1", 10, "187.00", extra={18: "6"})))
    assert (r[150], r[18]) == ("0", "6")
    r = only(v.send("B", BOB, "D", new("Y1", 10, "186.90", side=2, extra={18: "6"})))
    assert (r[150], r[103], r[58], r[18]) == (
        "8", "99", "post-only order would trade on arrival", "6")


def test_short_sale_side_is_echoed(v):
    r = only(v.send("M", 2, "D", new("S1", 10, "188.00", side=5)))
    assert (r[150], r[54]) == ("0", "5")
    r = only(v.send("M", 2, "D", new("S2", 10, "188.00", side=2)))     # unmarked: refused
    assert (r[150], r[103]) == ("8", "3")


def test_stop_order(v):
    r = only(v.send("A", ALICE, "D", {11: "S1", 55: "AAPL", 54: 1, 38: 10, 40: 3,
                                      99: "187.10"}))
    assert (r[150], r[40], r[99]) == ("0", "3", "187.10") and 44 not in r
    # the stop's price moves; the risk layer keeps it a stop-limit at its collar
    r = only(v.send("A", ALICE, "G", {11: "S2", 41: "S1", 55: "AAPL", 54: 1, 38: 10,
                                      40: 3, 99: "187.15"}))
    assert (r[150], r[99], r[41]) == ("5", "187.15", "S1")
    v.send("B", BOB, "D", new("B1", 10, "187.30", side=2))
    v.send("B", BOB, "D", new("B2", 10, "187.15", side=2))
    out = v.send("B", BOB, "D", new("B3", 10, "187.15"))          # trades at 187.15: trigger
    alice = [fields(m) for m in out if m.session == "A"]
    assert len(alice) == 1                                         # the trigger: no report
    f = alice[0]
    assert (f[150], f[39], f[31], f[40], f[11]) == ("F", "2", "187.30", "3", "S2")


def test_stop_limit_replace_without_risk():
    ref = ReferenceData.from_config(load_config())
    engine = MatchingEngine(ref.book_specs(), ref.account_specs())
    oe = OrderEntry(ref, engine.submit)
    send = lambda mt, f: checked(oe.on_message(Inbound(
        "A", ALICE, b"FIX.4.4", mt, [(t, str(x).encode()) for t, x in f.items()]), NOW))
    r = only(send(b"D", {11: "S1", 55: "AAPL", 54: 1, 38: 10, 40: 3, 99: "190.00"}))
    assert r[150] == "0"
    r = only(send(b"G", {11: "S2", 41: "S1", 55: "AAPL", 54: 1, 38: 20, 40: 3, 99: "191"}))
    assert (r[150], r[38], r[99]) == ("5", "20", "191")
    r = only(send(b"D", {11: "S3", 55: "AAPL", 54: 1, 38: 10, 40: 4, 99: "190.00",
                         44: "190.50"}))
    assert (r[40], r[44], r[99]) == ("4", "190.50", "190.00")
    r = only(send(b"D", new("X1", 0)))
    assert r[58] == "quantity must be positive"                    # the reason's own text


def test_ioc_remainder_is_cancelled(v):
    v.send("B", BOB, "D", new("Y1", 30, side=2))
    out = v.send("A", ALICE, "D", new("X1", 100, extra={59: "3"}))
    assert [(fields(m)[150], fields(m)[39]) for m in out if m.session == "A"] == [
        ("0", "0"), ("F", "1"), ("4", "4")]
    f = fields(out[-1])
    assert (f[14], f[151], f[58], f[59]) == (
        "30", "0", "not filled at once: IOC or market order remainder cancelled", "3")


def test_fok_kill(v):
    v.send("B", BOB, "D", new("Y1", 30, side=2))
    out = v.send("A", ALICE, "D", new("X1", 100, extra={59: "4"}))
    assert [(fields(m)[150], fields(m)[39], fields(m)[151]) for m in out] == [
        ("0", "0", "100"), ("4", "4", "0")]
    assert fields(out[-1])[58] == "fill-or-kill order could not fill completely"
    assert v.gate.engine.top(0).ask_qty == 30


def test_market_order(v):
    v.send("B", BOB, "D", new("Y1", 30, "187.20", side=2))
    out = v.send("A", ALICE, "D", {11: "M1", 55: "AAPL", 54: 1, 38: 50, 40: 1})
    got = [fields(m) for m in out if m.session == "A"]
    assert [(f[150], f[39]) for f in got] == [("0", "0"), ("F", "1"), ("4", "4")]
    assert all(44 not in f and f[40] == "1" for f in got)          # as the trader sent it
    assert got[1][31] == "187.20"


def test_self_trade_prevention_decrement_is_restated(v):
    v.send("R", ARB, "D", new("R1", 100))
    out = v.send("R", ARB, "D", new("R2", 30, side=2))
    got = [fields(m) for m in out]
    assert [(f[11], f[150], f[39]) for f in got] == [("R2", "0", "0"), ("R1", "D", "0"),
                                                     ("R2", "4", "4")]
    assert (got[1][378], got[1][38], got[1][151], got[1][58]) == (
        "5", "70", "70", "self-trade prevention: 30 cancelled")
    assert got[2][58] == "self-trade prevention"


def test_a_replace_cancelled_by_self_trade_prevention(v):
    v.send("R", ARB, "D", new("S1", 30, "187.10", side=2))
    v.send("R", ARB, "D", new("R1", 10, "187.00"))
    out = v.send("R", ARB, "G", replace("R2", "R1", 10, "187.10"))
    got = [fields(m) for m in out]
    assert [(f[11], f[150], f[39], f.get(41), f.get(58)) for f in got] == [
        ("R2", "5", "0", "R1", None),
        ("S1", "D", "0", None, "self-trade prevention: 10 cancelled"),
        ("R2", "4", "4", None, "self-trade prevention")]
    assert got[1][38] == "20"


def test_expiry_reported_through_on_events(v):
    v.send("A", ALICE, "D", new("X1", 10))
    v.send("A", ALICE, "D", new("X2", 10, extra={59: "1"}))               # GTC: stays
    out = checked(v.oe.on_events(v.gate.submit(ExpireOrders(ts=NOW))))
    assert [(m.session, fields(m)[11], fields(m)[150], fields(m)[39]) for m in out] == [
        ("A", "X1", "C", "C")]
    assert v.oe.on_events(v.gate.submit(NewOrder(999, 0, BOB, Side.SELL, 1, 19000,
                                                 ts=NOW))) == []    # not entered here


# ------------------------------------------------------------------ cancel and replace

def test_cancel(v):
    v.send("A", ALICE, "D", new("X1", 100))
    r = only(v.send("A", ALICE, "F", cancel("X2", "X1")))
    assert (r[150], r[39], r[11], r[41], r[151], r[14], r[38], r[37]) == (
        "4", "4", "X2", "X1", "0", "0", "100", "1")
    assert 58 not in r
    r = only(v.send("A", ALICE, "F", cancel("X3", "X2")))
    assert r == {1: "ALICE", 11: "X3", 37: "1", 39: "4", 41: "X2", 58: "order already done",
                 60: "20231114-22:13:20.123", 102: "0", 434: "1"}


def test_cancel_of_a_filled_order_is_too_late(v):
    v.send("A", ALICE, "D", new("X1", 10))
    v.send("B", BOB, "D", new("Y1", 10, side=2))
    r = only(v.send("A", ALICE, "F", cancel("X2", "X1")))
    assert (r[39], r[102], r[434]) == ("2", "0", "1")
    r = only(v.send("A", ALICE, "G", replace("X3", "X1", 20)))
    assert (r[39], r[102], r[434]) == ("2", "0", "2")


def test_unknown_order(v):
    r = only(v.send("A", ALICE, "F", cancel("X2", "NOPE")))
    assert (r[37], r[39], r[102], r[434], r[41], r[58]) == (
        "NONE", "8", "1", "1", "NOPE", "unknown order")
    r = only(v.send("A", ALICE, "G", replace("X3", "NOPE", 10)))
    assert (r[37], r[39], r[102], r[434]) == ("NONE", "8", "1", "2")


def test_another_accounts_order_is_unknown(v):
    v.send("A", ALICE, "D", new("X1", 100))
    for f in (cancel("Y1", "X1", side=1), {**cancel("Y1", "X1"), 37: "1"}):
        r = only(v.send("B", BOB, "F", f))
        assert (r[37], r[39], r[102]) == ("NONE", "8", "1")
    assert v.oe.order(1).status == b"0"


def test_cancel_by_order_id_and_by_an_old_clordid(v):
    v.send("A", ALICE, "D", new("X1", 100))
    v.send("A", ALICE, "G", replace("X2", "X1", 90))
    r = only(v.send("A", ALICE, "F", {11: "X3", 41: "X1", 37: "1", 55: "AAPL", 54: 1}))
    assert (r[150], r[11], r[41]) == ("4", "X3", "X2")          # OrigClOrdID: the current


def test_cancel_must_name_the_orders_side_and_symbol(v):
    v.send("A", ALICE, "D", new("X1", 100))
    r = only(v.send("A", ALICE, "F", cancel("X2", "X1", side=2)))
    assert (r[102], r[58]) == ("99", "Side '2' differs from the order's")
    r = only(v.send("A", ALICE, "F", cancel("X2", "X1", symbol="MSFT")))
    assert (r[102], r[58]) == ("99", "Symbol 'MSFT' differs from the order's")
    r = only(v.send("A", ALICE, "F", cancel("X1", "X1")))
    assert (r[102], r[58]) == ("6", "duplicate ClOrdID 'X1'")
    assert only(v.send("A", ALICE, "F", cancel("X2", "X1"), fix="FIX.4.2"))[150] == "4"


def test_replace(v):
    v.send("A", ALICE, "D", new("X1", 100, "187.00"))
    r = only(v.send("A", ALICE, "G", replace("X2", "X1", 150, "187.05")))
    assert (r[150], r[39], r[11], r[41], r[38], r[44], r[151], r[37]) == (
        "5", "0", "X2", "X1", "150", "187.05", "150", "1")
    assert v.oe.order(1).price == 18705
    r = only(v.send("A", ALICE, "F", cancel("X3", "X2")))
    assert (r[150], r[41], r[38]) == ("4", "X2", "150")


def test_replace_that_crosses_trades_under_the_new_clordid(v):
    v.send("B", BOB, "D", new("Y1", 40, "187.10", side=2))
    v.send("A", ALICE, "D", new("X1", 100, "187.00"))
    out = v.send("A", ALICE, "G", replace("X2", "X1", 100, "187.10"))
    got = [fields(m) for m in out if m.session == "A"]
    assert [(f[150], f[39], f[11]) for f in got] == [("5", "0", "X2"), ("F", "1", "X2")]


@pytest.mark.parametrize("change, reason, text", [
    ({44: "187.001"}, "99", "price 187.001 is not on the tick grid of 0.01"),
    ({44: "250.00"}, "99", "price collar: 250.00 is above the collar 196.35"),
    ({40: 1}, "99", "OrdType cannot be changed"),
    ({59: 1}, "99", "TimeInForce cannot be changed"),
    ({111: 10}, "99", "MaxFloor cannot be changed"),
    ({38: "1.5"}, "99", "OrderQty (38) '1.5' is not a whole number"),
])
def test_replace_rejected(v, change, reason, text):
    v.send("A", ALICE, "D", new("X1", 100))
    r = only(v.send("A", ALICE, "G", {**replace("X2", "X1", 100), **change}))
    assert (r[39], r[102], r[434], r[58], r[11], r[41], r[37]) == (
        "0", reason, "2", text, "X2", "X1", "1")
    assert only(v.send("A", ALICE, "F", cancel("X2", "X1")))[150] == "4"   # X2 not used up


def test_fix42_cancel_reject_reason_other_is_broker_option(v):
    v.send("A", ALICE, "D", new("X1", 100), fix="FIX.4.2")
    r = only(v.send("A", ALICE, "G", {**replace("X2", "X1", 100), 40: 1}, fix="FIX.4.2"))
    assert r[102] == "2"


def test_a_cancel_from_another_session_of_the_account_goes_to_all_its_sessions(v):
    v.send("A", ALICE, "D", new("X1", 100))
    out = v.send("A2", ALICE, "F", cancel("X2", "X1"))
    assert [(m.session, m.account, fields(m)[150]) for m in out] == [(None, ALICE, "4")]


# ------------------------------------------------------------ status, mass cancel, disconnect

def test_status_request(v):
    v.send("A", ALICE, "D", new("X1", 100))
    v.send("B", BOB, "D", new("Y1", 40, side=2))
    r = only(v.send("A", ALICE, "H", {11: "X1", 55: "AAPL", 54: 1}))
    assert (r[150], r[39], r[17], r[14], r[151], r[6], r[37], r[11]) == (
        "I", "1", "0", "40", "60", "187.00", "1", "X1")
    assert 31 not in r and 32 not in r
    r = only(v.send("A", ALICE, "H", {11: "whatever", 37: "1", 55: "AAPL", 54: 1},
                    fix="FIX.4.2"))
    assert (r[20], r[150], r[39], r[17], r[11]) == ("3", "1", "1", "0", "X1")


def test_status_of_an_unknown_order(v):
    v.send("A", ALICE, "D", new("X1", 100))
    for session, account, f in [("A", ALICE, {11: "NOPE", 55: "AAPL", 54: 1}),
                                ("B", BOB, {11: "X1", 37: "1", 55: "AAPL", 54: 1})]:
        r = only(v.send(session, account, "H", f))
        assert (r[150], r[39], r[103], r[37], r[17], r[151], r[14], r[58]) == (
            "I", "8", "5", "NONE", "0", "0", "0", "unknown order")
    r = only(v.send("A", ALICE, "H", {11: "NOPE", 55: "AAPL", 54: 1}, fix="FIX.4.2"))
    assert (r[20], r[150], r[39], r[103]) == ("3", "8", "8", "5")


def test_mass_cancel(v):
    v.send("A", ALICE, "D", new("X1", 10))
    v.send("A2", ALICE, "D", new("X2", 10, "186.00"))
    v.send("A", ALICE, "D", new("X3", 10, "415.00", symbol="MSFT"))
    v.send("B", BOB, "D", new("Y1", 10, "188.00", side=2))
    out = v.send("A", ALICE, "q", {11: "M1", 530: 1, 55: "AAPL", 60: "20231114-22:13:20"})
    # X2 was entered on A2: its report goes to all of ALICE's sessions
    assert [(m.session, m.msg_type) for m in out] == [("A", b"8"), (None, b"8"), ("A", b"r")]
    assert [(fields(m)[11], fields(m)[150], fields(m)[58]) for m in out[:2]] == [
        ("X1", "4", "mass cancel"), ("X2", "4", "mass cancel")]
    assert fields(out[2]) == {11: "M1", 37: fields(out[2])[37], 55: "AAPL",
                              60: "20231114-22:13:20.123", 530: "1", 531: "1", 533: "2"}
    out = v.send("A", ALICE, "q", {11: "M2", 530: 7})
    assert [fields(m)[11] for m in out] == ["X3", "M2"]
    assert fields(out[-1])[533] == "1"
    assert v.oe.order(4).status == b"0"                           # BOB's order lives


def test_mass_cancel_by_side(v):
    v.send("A", ALICE, "D", new("X1", 10))
    v.send("A", ALICE, "D", new("X2", 10, "188.00", side=2))
    out = v.send("A", ALICE, "q", {11: "M1", 530: 7, 54: 2})
    assert [fields(m)[11] for m in out] == ["X2", "M1"]
    assert fields(out[-1])[54] == "2"


@pytest.mark.parametrize("f, reason, text", [
    ({530: 3}, "0", "MassCancelRequestType '3' is not supported: 1 (by Symbol) or 7 (all "
                    "orders)"),
    ({530: 1, 55: "NOPE"}, "1", "unknown symbol 'NOPE'"),
    ({530: 1}, "1", "Symbol (55) is required to cancel by security"),
])
def test_mass_cancel_refused(v, f, reason, text):
    r = only(v.send("A", ALICE, "q", {11: "M1", **f}))
    assert (r[531], r[532], r[58], r[37]) == ("0", reason, text, "NONE")


def test_mass_cancel_is_not_fix42(v):
    r = only(v.send("A", ALICE, "q", {11: "M1", 530: 7}, fix="FIX.4.2"))
    assert (r[372], r[380]) == ("q", "3")


def test_cancel_on_disconnect(v):
    v.send("A", ALICE, "D", new("X1", 10))
    v.send("A", ALICE, "D", new("X2", 10, "186.00", extra={59: "1"}))
    v.send("A", ALICE, "D", new("X3", 10, "188.00"))
    v.send("B", BOB, "D", new("Y1", 10, "188.00", side=2))        # fills X3
    v.send("A2", ALICE, "D", new("X4", 10))
    out = checked(v.oe.on_disconnect("A", ALICE, NOW))
    assert [(m.session, fields(m)[11], fields(m)[150], fields(m)[58]) for m in out] == [
        (None, "X1", "4", "cancelled on disconnect"),
        (None, "X2", "4", "cancelled on disconnect")]
    assert 41 not in fields(out[0])
    assert v.oe.order(5).status == b"0"                           # entered on A2
    assert v.oe.on_disconnect("A", ALICE, NOW) == []


def test_other_messages_get_a_business_reject(v):
    for msg_type in ("8", "U1", "AE"):
        r = only(v.send("A", ALICE, msg_type, {11: "X1"}))
        assert r == {45: str(v.seq), 58: "Unsupported Message Type", 372: msg_type, 380: "3"}


def test_missing_clordid_gets_a_business_reject(v):
    r = only(v.send("A", ALICE, "D", {55: "AAPL", 54: 1, 38: 10, 40: 2, 44: "187.00"}))
    assert (r[372], r[380], r[58]) == ("D", "5", "missing required field ClOrdID (11)")


# ------------------------------------------------------------------ Appendix D

FILL = "fill"     # BOB sells this quantity at ALICE's price (ALICE's order rests)

# FIX 4.4 Volume 4 Appendix D, the scenarios a book that answers at once can
# show (no Pending New/Cancel/Replace, no Done for Day). Steps: ("D", ClOrdID,
# qty), ("F", ClOrdID, OrigClOrdID), ("G", ClOrdID, OrigClOrdID, qty), (FILL,
# qty). Expected: what ALICE's session receives, as (MsgType, ExecType,
# OrdStatus, OrderQty, CumQty, LeavesQty, LastQty, ClOrdID, OrigClOrdID); ""
# where the message has no such field.
MATRICES = {
    "A.1.a filled order": (
        [("D", "X", 10000), (FILL, 2000), (FILL, 1000), (FILL, 7000)],
        [("8", "0", "0", 10000, 0, 10000, "", "X", ""),
         ("8", "F", "1", 10000, 2000, 8000, 2000, "X", ""),
         ("8", "F", "1", 10000, 3000, 7000, 1000, "X", ""),
         ("8", "F", "2", 10000, 10000, 0, 7000, "X", "")]),
    "B.1.a cancel of a zero-filled order": (
        [("D", "X", 10000), ("F", "Y", "X")],
        [("8", "0", "0", 10000, 0, 10000, "", "X", ""),
         ("8", "4", "4", 10000, 0, 0, "", "Y", "X")]),
    "B.1.b cancel of a part-filled order": (
        [("D", "X", 10000), (FILL, 1000), ("F", "Y", "X")],
        [("8", "0", "0", 10000, 0, 10000, "", "X", ""),
         ("8", "F", "1", 10000, 1000, 9000, 1000, "X", ""),
         ("8", "4", "4", 10000, 1000, 0, "", "Y", "X")]),
    "B.1.c cancel of an order filled before it arrives": (
        [("D", "X", 10000), (FILL, 10000), ("F", "Y", "X")],
        [("8", "0", "0", 10000, 0, 10000, "", "X", ""),
         ("8", "F", "2", 10000, 10000, 0, 10000, "X", ""),
         ("9", "", "2", "", "", "", "", "Y", "X")]),
    "B.1.f cancel of an unknown order": (
        [("F", "Y", "X")],
        [("9", "", "8", "", "", "", "", "Y", "X")]),
    "C.1.a zero-filled order, replace to increase qty": (
        [("D", "X", 10000), ("G", "Y", "X", 11000), (FILL, 11000)],
        [("8", "0", "0", 10000, 0, 10000, "", "X", ""),
         ("8", "5", "0", 11000, 0, 11000, "", "Y", "X"),
         ("8", "F", "2", 11000, 11000, 0, 11000, "Y", "")]),
    "C.1.c filled order, replace to increase qty": (
        [("D", "X", 10000), (FILL, 10000), ("G", "Y", "X", 12000)],
        [("8", "0", "0", 10000, 0, 10000, "", "X", ""),
         ("8", "F", "2", 10000, 10000, 0, 10000, "X", ""),
         ("9", "", "2", "", "", "", "", "Y", "X")]),
    "C.3.a replace to decrease qty above cum, then filled": (
        [("D", "X", 10000), (FILL, 1500), ("G", "Y", "X", 8000), (FILL, 6500)],
        [("8", "0", "0", 10000, 0, 10000, "", "X", ""),
         ("8", "F", "1", 10000, 1500, 8500, 1500, "X", ""),
         ("8", "5", "1", 8000, 1500, 6500, "", "Y", "X"),
         ("8", "F", "2", 8000, 8000, 0, 6500, "Y", "")]),
    "C.3.b replace to a qty equal to cum": (
        [("D", "X", 10000), (FILL, 7000), ("G", "Y", "X", 7000)],
        [("8", "0", "0", 10000, 0, 10000, "", "X", ""),
         ("8", "F", "1", 10000, 7000, 3000, 7000, "X", ""),
         ("8", "5", "2", 7000, 7000, 0, "", "Y", "X")]),
    "C.3.c replace to a qty below cum: amended to cum": (
        [("D", "X", 10000), (FILL, 7000), ("G", "Y", "X", 6000)],
        [("8", "0", "0", 10000, 0, 10000, "", "X", ""),
         ("8", "F", "1", 10000, 7000, 3000, 7000, "X", ""),
         ("8", "5", "2", 7000, 7000, 0, "", "Y", "X")]),
    "D.1.a two replaces, both accepted": (
        [("D", "X", 10000), (FILL, 1000), ("G", "Y", "X", 8000), (FILL, 2000),
         ("G", "Z", "Y", 6000), (FILL, 3000)],
        [("8", "0", "0", 10000, 0, 10000, "", "X", ""),
         ("8", "F", "1", 10000, 1000, 9000, 1000, "X", ""),
         ("8", "5", "1", 8000, 1000, 7000, "", "Y", "X"),
         ("8", "F", "1", 8000, 3000, 5000, 2000, "Y", ""),
         ("8", "5", "1", 6000, 3000, 3000, "", "Z", "Y"),
         ("8", "F", "2", 6000, 6000, 0, 3000, "Z", "")]),
    "F.1.a order rejected: duplicate ClOrdID": (
        [("D", "X", 10000), ("D", "X", 5000)],
        [("8", "0", "0", 10000, 0, 10000, "", "X", ""),
         ("8", "8", "8", 5000, 0, 0, "", "X", "")]),
}

# 4.2 names the trade by its effect on the order
FIX42_EXEC_TYPE = {("F", "1"): "1", ("F", "2"): "2"}


@pytest.mark.parametrize("fix", ["FIX.4.4", "FIX.4.2"])
@pytest.mark.parametrize("name", sorted(MATRICES))
def test_order_state_change_matrices(v, name, fix):
    steps, expected = MATRICES[name]
    got = []
    price = "187.00"
    for n, (action, *args) in enumerate(steps):
        if action == FILL:
            out = v.send("B", BOB, "D", new(f"B{n}", args[0], price, side=2))
        elif action == "D":
            out = v.send("A", ALICE, "D", new(args[0], args[1], price), fix)
        elif action == "F":
            out = v.send("A", ALICE, "F", cancel(*args), fix)
        else:
            out = v.send("A", ALICE, "G", replace(*args, price), fix)
        for m in out:
            if m.session == "A":
                f = fields(m)
                got.append((m.msg_type.decode(), f.get(150, ""), f[39],
                            *(int(f[t]) if t in f else "" for t in (38, 14, 151, 32)),
                            f[11], f.get(41, "")))
                if fix == "FIX.4.2" and m.msg_type == b"8":
                    assert f[20] == "0"
    if fix == "FIX.4.2":
        expected = [(mt, FIX42_EXEC_TYPE.get((et, st), et), st, *rest)
                    for mt, et, st, *rest in expected]
    assert got == expected


def test_docstring_examples():
    import doctest

    from fix_gateway import exec_reports, orders
    for module in (exec_reports, orders):
        assert doctest.testmod(module).failed == 0
