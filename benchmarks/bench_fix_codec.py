"""The FIX codec on the gateway's two hot messages, beside simplefix in the same run.

Every round handles the same 1,000 messages, made from the first new orders of
the seeded benchmark flow, so a round's time in milliseconds is the time per
message in microseconds.

Decoding a NewOrderSingle (FIX 4.4, 23 fields): `decode`, which verifies
BodyLength and CheckSum, against simplefix's `FixParser` (one parser fed each
message, as a session would), which verifies neither; then `decode` with the 13
`get`s the session and order layers make, and the whole receive path (one
buffer holding all the messages, `frame_end` then `decode`).

Encoding an ExecutionReport (a partial fill, 29 fields, values already bytes
or int): `Template.encode`, `encode`, and simplefix's `FixMessage` built with
`append_pair` and encoded. Results are compared after timing.
"""
import calendar

import pytest
import simplefix

from engine.enums import CommandKind, OrdType, TimeInForce
from engine.prices import Tick, format_ticks
from fix_gateway.codec import Template, decode, encode, frame_end, utc_timestamp

MESSAGES = 1_000
SESSION_START = calendar.timegm((2026, 11, 25, 14, 30, 0)) * 10**9
SYMBOLS = (b"AAPL", b"MSFT", b"NVDA", b"AMZN")
CENT = Tick.parse("0.01")
TIF = {int(TimeInForce.DAY): b"0", int(TimeInForce.GTC): b"1", int(TimeInForce.IOC): b"3",
       int(TimeInForce.FOK): b"4"}
READ_BY_THE_APPLICATION = (34, 49, 56, 52, 11, 1, 55, 54, 38, 40, 44, 59, 60)
EXECUTION_REPORT = [
    (49, b"OMS"), (56, bytes), (34, int), (52, bytes), (37, bytes), (11, bytes), (17, bytes),
    (150, b"F"), (39, b"1"), (1, bytes), (55, bytes), (207, b"XNAS"), (54, bytes), (38, int),
    (40, bytes), (44, bytes), (59, bytes), (32, int), (31, bytes), (151, int), (14, int),
    (6, bytes), (60, bytes), (30, b"XNAS"), (851, b"1"),
]


@pytest.fixture(scope="module")
def orders(flow):
    """The first new orders of the flow, as the fields a client would send."""
    found = []
    for seq, c in enumerate(flow[flow["kind"] == int(CommandKind.NEW)][:MESSAGES], 1):
        ts = utc_timestamp(SESSION_START + int(c["ts"]))
        limit = int(c["ord_type"]) == int(OrdType.LIMIT)
        fields = [(49, b"CLIENT1"), (56, b"OMS"), (34, b"%d" % seq), (52, ts),
                  (11, b"C%012d" % c["order_id"]), (1, b"ACC-%04d" % c["account"]),
                  (21, b"1"), (55, SYMBOLS[c["instrument"] % 4]), (207, b"XNAS"),
                  (54, b"1" if c["side"] > 0 else b"2"), (60, ts), (38, b"%d" % c["qty"]),
                  (40, b"2" if limit else b"1")]
        if limit:
            fields.append((44, format_ticks(int(c["price"]), CENT).encode()))
        fields += [(59, TIF[int(c["tif"])]), (18, b"M"), (528, b"A")]
        found.append(fields)
    return found


@pytest.fixture(scope="module")
def new_orders(orders):
    return [encode(b"FIX.4.4", b"D", fields) for fields in orders]


@pytest.fixture(scope="module")
def fills(orders):
    """A partial fill of each order: the values of EXECUTION_REPORT's variable fields."""
    reports = []
    for seq, fields in enumerate(orders, 1):
        o = dict(fields)
        qty = int(o[38])
        price = o.get(44, b"100.00")
        reports.append((o[49], seq, o[52], b"O%s" % o[11][1:], o[11], b"E%d" % seq, o[1], o[55],
                        o[54], qty, o[40], price, o[59], qty // 2, price, qty - qty // 2,
                        qty // 2, price, o[60]))
    return reports


def _fields_of(values):
    """EXECUTION_REPORT's (tag, value) pairs with `values` in its variable fields."""
    given = iter(values)
    return [(tag, next(given) if what in (bytes, int) else what) for tag, what in EXECUTION_REPORT]


# ------------------------------------------------------------ decoding
# The timed loops keep only the last result, as a gateway keeps none: holding
# a thousand messages would time the garbage collector walking them. Every
# result is checked after timing.

def _decode_each(messages):
    for raw in messages:
        msg = decode(raw)
    return msg


def _simplefix_decode_each(messages, parser):
    for raw in messages:
        parser.append_buffer(raw)
        msg = parser.get_message()
    return msg


def _decode_and_read_each(messages):
    for raw in messages:
        get = decode(raw).get
        read = [get(tag) for tag in READ_BY_THE_APPLICATION]
    return read


def _receive_each(buf):
    pos = 0
    while pos < len(buf):
        end = frame_end(buf, pos)
        msg = decode(bytes(buf[pos:end]))
        pos = end
    return msg


@pytest.mark.benchmark(group="fix-decode-new-order-single")
def test_decode(benchmark, new_orders, orders):
    benchmark.pedantic(_decode_each, args=(new_orders,), rounds=30, iterations=1,
                       warmup_rounds=1)
    assert [decode(raw).fields[3:-1] for raw in new_orders] == orders


@pytest.mark.benchmark(group="fix-decode-new-order-single")
def test_simplefix_decode(benchmark, new_orders, orders):
    parser = simplefix.FixParser()
    benchmark.pedantic(_simplefix_decode_each, args=(new_orders, parser), rounds=5,
                       iterations=1, warmup_rounds=1)
    decoded = []
    for raw in new_orders:
        parser.append_buffer(raw)
        decoded.append(parser.get_message())
    assert [[(int(t), v) for t, v in m.pairs[3:-1]] for m in decoded] == orders


@pytest.mark.benchmark(group="fix-decode-new-order-single")
def test_decode_and_read_13_fields(benchmark, new_orders, orders):
    read = benchmark.pedantic(_decode_and_read_each, args=(new_orders,), rounds=30,
                              iterations=1, warmup_rounds=1)
    assert read == [dict(orders[-1]).get(tag) for tag in READ_BY_THE_APPLICATION]


@pytest.mark.benchmark(group="fix-decode-new-order-single")
def test_receive_frame_end_and_decode(benchmark, new_orders):
    buf = bytearray(b"".join(new_orders))
    last = benchmark.pedantic(_receive_each, args=(buf,), rounds=30, iterations=1,
                              warmup_rounds=1)
    assert last.raw == new_orders[-1]
    ends = [frame_end(buf, sum(map(len, new_orders[:i]))) for i in range(len(new_orders))]
    assert ends == [sum(map(len, new_orders[:i + 1])) for i in range(len(new_orders))]


# ------------------------------------------------------------ encoding

def _template_encode_each(template, reports):
    for values in reports:
        raw = template.encode(*values)
    return raw


def _encode_each(reports):
    for fields in reports:
        raw = encode(b"FIX.4.4", b"8", fields)
    return raw


def _simplefix_encode(fields):
    msg = simplefix.FixMessage()
    msg.append_pair(8, b"FIX.4.4")
    msg.append_pair(35, b"8")
    for tag, value in fields:
        msg.append_pair(tag, value)
    return msg.encode()


def _simplefix_encode_each(reports):
    for fields in reports:
        raw = _simplefix_encode(fields)
    return raw


@pytest.mark.benchmark(group="fix-encode-execution-report")
def test_template_encode(benchmark, fills):
    template = Template(b"FIX.4.4", b"8", EXECUTION_REPORT)
    benchmark.pedantic(_template_encode_each, args=(template, fills), rounds=30,
                       iterations=1, warmup_rounds=1)
    assert [template.encode(*v) for v in fills] == \
        [encode(b"FIX.4.4", b"8", _fields_of(v)) for v in fills]


@pytest.mark.benchmark(group="fix-encode-execution-report")
def test_encode(benchmark, fills):
    reports = [_fields_of(v) for v in fills]
    benchmark.pedantic(_encode_each, args=(reports,), rounds=30, iterations=1, warmup_rounds=1)
    assert [decode(encode(b"FIX.4.4", b"8", r)).fields[3:-1] for r in reports] == \
        [[(t, b"%d" % v if type(v) is int else v) for t, v in r] for r in reports]


@pytest.mark.benchmark(group="fix-encode-execution-report")
def test_simplefix_encode(benchmark, fills):
    reports = [_fields_of(v) for v in fills]
    benchmark.pedantic(_simplefix_encode_each, args=(reports,), rounds=5, iterations=1,
                       warmup_rounds=1)
    assert [_simplefix_encode(r) for r in reports] == \
        [encode(b"FIX.4.4", b"8", r) for r in reports]
