"""The TOML configuration (engine/config.py) and the reference data built from
it (engine/refdata.py)."""
import doctest
import textwrap

import pytest

import engine.config
import engine.refdata
from engine.commands import NewOrder
from engine.config import (DEFAULT_SOURCE, AccountConfig, Config, ConfigError, EngineConfig,
                           InstrumentConfig, is_valid_name, load_config, parse_config)
from engine.enums import CancelCause, Side, StpMode
from engine.events import Cancelled, Trade
from engine.prices import PriceError, Tick
from engine.reasons import ReasonCode
from engine.reference import ReferenceEngine
from engine.refdata import ReferenceData, UnknownName
from engine.specs import AccountSpec, BookSpec

GOOD = """\
[instruments.XYZ]
tick_size = "0.01"

[accounts.ALICE]
"""


def test_doctests():
    assert doctest.testmod(engine.config).failed == 0
    assert doctest.testmod(engine.refdata).failed == 0


# ------------------------------------------------------------------ the default

def test_default_config_loads():
    cfg = load_config()
    assert cfg.source == DEFAULT_SOURCE
    assert list(cfg.instruments) == ["AAPL", "MSFT", "F", "ESZ5", "EURUSD"]
    assert list(cfg.accounts) == ["ALICE", "BOB", "FIRMA-MM", "FIRMA-ARB"]
    aapl = cfg.instruments["AAPL"]
    assert aapl == InstrumentConfig(Tick(1, 2), lot=1, band_lo=100, band_hi=100000,
                                    currency="USD")
    assert cfg.instruments["F"].lot == 100
    assert cfg.instruments["ESZ5"].tick == Tick.parse("0.25")
    assert cfg.instruments["EURUSD"].tick == Tick.parse("0.0001")
    assert all(i.band_lo is not None for i in cfg.instruments.values())
    assert cfg.accounts["ALICE"] == AccountConfig()
    assert cfg.accounts["FIRMA-MM"] == AccountConfig(StpMode.CANCEL_RESTING, "FIRM-A")
    assert cfg.accounts["FIRMA-ARB"] == AccountConfig(StpMode.DECREMENT, "FIRM-A")
    assert cfg.engine == EngineConfig()


def test_minimal_config_takes_the_defaults():
    cfg = parse_config(GOOD)
    assert cfg == Config({"XYZ": InstrumentConfig(Tick(1, 2))}, {"ALICE": AccountConfig()},
                         text=GOOD)
    assert cfg.instruments["XYZ"] == InstrumentConfig(Tick(1, 2), 1, None, None, "USD")


def test_everything_given():
    cfg = parse_config("""
        [engine]
        [instruments."BRK.B"]
        tick_size = 5
        lot_size = 10
        price_band = [100, "1000.0"]
        currency = "EUR"
        [accounts.A]
        stp = "cancel_both"
        stp_group = "G"
        [accounts.B]
        stp = "cancel_aggressor"
        """, "x.toml")
    assert cfg.instruments["BRK.B"] == InstrumentConfig(Tick(5, 0), 10, 20, 200, "EUR")
    assert cfg.accounts == {"A": AccountConfig(StpMode.CANCEL_BOTH, "G"),
                            "B": AccountConfig(StpMode.CANCEL_AGGRESSOR)}
    assert cfg.source == "x.toml"


def test_file_order_is_kept():
    text = "".join(f'[instruments.S{i}]\ntick_size = "1"\n' for i in (3, 1, 2))
    cfg = parse_config(text + "[accounts.Z]\n[accounts.A]\n")
    assert list(cfg.instruments) == ["S3", "S1", "S2"]
    assert list(cfg.accounts) == ["Z", "A"]


def test_all_stp_modes():
    for spelling, mode in [("none", StpMode.NONE), ("cancel_aggressor", StpMode.CANCEL_AGGRESSOR),
                           ("cancel_resting", StpMode.CANCEL_RESTING),
                           ("cancel_both", StpMode.CANCEL_BOTH), ("decrement", StpMode.DECREMENT)]:
        cfg = parse_config(GOOD + f'stp = "{spelling}"\n')
        assert cfg.accounts["ALICE"].stp is mode


def test_config_is_frozen():
    cfg = parse_config(GOOD)
    with pytest.raises(AttributeError):
        cfg.instruments = {}
    with pytest.raises(AttributeError):
        cfg.instruments["XYZ"].lot = 2


# ------------------------------------------------------------------ errors

def instrument(lines: str) -> str:
    return "[instruments.XYZ]\n" + textwrap.dedent(lines) + "[accounts.ALICE]\n"


def account(lines: str) -> str:
    return '[instruments.XYZ]\ntick_size = "0.01"\n[accounts.ALICE]\n' + textwrap.dedent(lines)


FLOAT = "must be a decimal string, not a TOML float (floats are not exact), got"

ERRORS = [
    # tick size
    (instrument('tick_size = "0"\n'),
     'instruments.XYZ.tick_size', 'must be a positive decimal, got "0"'),
    (instrument('tick_size = "0.00"\n'),
     'instruments.XYZ.tick_size', 'must be a positive decimal, got "0.00"'),
    (instrument('tick_size = "-0.01"\n'),
     'instruments.XYZ.tick_size', 'must be a positive decimal, got "-0.01"'),
    (instrument('tick_size = -1\n'),
     'instruments.XYZ.tick_size', 'must be a positive decimal, got -1'),
    (instrument('tick_size = 0\n'),
     'instruments.XYZ.tick_size', 'must be a positive decimal, got 0'),
    (instrument('tick_size = "cheap"\n'),
     'instruments.XYZ.tick_size', 'must be a positive decimal, got "cheap"'),
    (instrument('tick_size = "1e-2"\n'),
     'instruments.XYZ.tick_size', 'must be a positive decimal, got "1e-2"'),
    (instrument('tick_size = true\n'),
     'instruments.XYZ.tick_size', 'must be a positive decimal, got true'),
    (instrument('tick_size = ["0.01"]\n'),
     'instruments.XYZ.tick_size', 'must be a positive decimal, got ["0.01"]'),
    (instrument('tick_size = 0.01\n'),
     'instruments.XYZ.tick_size', f'{FLOAT} 0.01; quote it: "0.01"'),
    (instrument('tick_size = 1e-4\n'),
     'instruments.XYZ.tick_size', f'{FLOAT} 0.0001; quote it: "0.0001"'),
    (instrument('tick_size = nan\n'),
     'instruments.XYZ.tick_size', f'{FLOAT} nan'),
    (instrument('lot_size = 1\n'),
     'instruments.XYZ.tick_size', 'is required'),
    # lot size
    (instrument('tick_size = "0.01"\nlot_size = 0\n'),
     'instruments.XYZ.lot_size', 'must be a positive integer, got 0'),
    (instrument('tick_size = "0.01"\nlot_size = -100\n'),
     'instruments.XYZ.lot_size', 'must be a positive integer, got -100'),
    (instrument('tick_size = "0.01"\nlot_size = 100.0\n'),
     'instruments.XYZ.lot_size', 'must be a positive integer, got 100.0'),
    (instrument('tick_size = "0.01"\nlot_size = "100"\n'),
     'instruments.XYZ.lot_size', 'must be a positive integer, got "100"'),
    # price band
    (instrument('tick_size = "0.01"\nprice_band = ["1.005", "10.00"]\n'),
     'instruments.XYZ.price_band[0]', 'low 1.005 is not on the tick grid of 0.01'),
    (instrument('tick_size = "0.25"\nprice_band = ["1.00", "10.10"]\n'),
     'instruments.XYZ.price_band[1]', 'high 10.10 is not on the tick grid of 0.25'),
    (instrument('tick_size = "0.01"\nprice_band = ["100.00", "10.00"]\n'),
     'instruments.XYZ.price_band', 'low 100.00 is above high 10.00'),
    (instrument('tick_size = "0.01"\nprice_band = ["0", "10.00"]\n'),
     'instruments.XYZ.price_band[0]', 'must be positive, got "0"'),
    (instrument('tick_size = "0.01"\nprice_band = ["-1.00", "10.00"]\n'),
     'instruments.XYZ.price_band[0]', 'must be positive, got "-1.00"'),
    (instrument('tick_size = "0.01"\nprice_band = ["1.00", 10.5]\n'),
     'instruments.XYZ.price_band[1]', f'{FLOAT} 10.5; quote it: "10.5"'),
    (instrument('tick_size = "0.01"\nprice_band = ["1.00", "ten"]\n'),
     'instruments.XYZ.price_band[1]', "high 'ten' is not a decimal number"),
    (instrument('tick_size = "0.01"\nprice_band = ["1.00", true]\n'),
     'instruments.XYZ.price_band[1]', 'must be a decimal string, got true'),
    (instrument('tick_size = "0.01"\nprice_band = ["1.00"]\n'),
     'instruments.XYZ.price_band', 'must be [low, high] like ["1.00", "100.00"], got ["1.00"]'),
    (instrument('tick_size = "0.01"\nprice_band = "1.00"\n'),
     'instruments.XYZ.price_band', 'must be [low, high] like ["1.00", "100.00"], got "1.00"'),
    # currency
    (instrument('tick_size = "0.01"\ncurrency = "usd"\n'),
     'instruments.XYZ.currency', 'must be 3 upper-case letters like "USD", got "usd"'),
    (instrument('tick_size = "0.01"\ncurrency = "USDT"\n'),
     'instruments.XYZ.currency', 'must be 3 upper-case letters like "USD", got "USDT"'),
    # unknown keys, anywhere
    (instrument('tick_size = "0.01"\nlot = 1\n'),
     'instruments.XYZ.lot', 'unknown key (did you mean lot_size?)'),
    (instrument('tick_size = "0.01"\nband = ["1", "2"]\n'),
     'instruments.XYZ.band', 'unknown key (did you mean price_band?)'),
    (instrument('tick_sise = "0.01"\n'),
     'instruments.XYZ.tick_sise', 'unknown key (did you mean tick_size?)'),
    (instrument('tick_size = "0.01"\ncolour = "red"\n'),
     'instruments.XYZ.colour',
     'unknown key (known keys: tick_size, lot_size, price_band, currency)'),
    (account('stp_grop = "A"\n'),
     'accounts.ALICE.stp_grop', 'unknown key (did you mean stp_group?)'),
    (GOOD + "[engine]\nthreads = 4\n",
     'engine.threads', 'unknown key (this table takes no keys)'),
    (GOOD + "[instrument.ABC]\n",
     'instrument', 'unknown key (did you mean instruments?)'),
    (GOOD + "[limits]\n",
     'limits', 'unknown key (known keys: instruments, accounts, engine, risk, fix)'),
    # STP
    (account('stp = "cancel"\n'),
     'accounts.ALICE.stp', 'must be one of none, cancel_aggressor, cancel_resting, '
                           'cancel_both, decrement; got "cancel"'),
    (account('stp = "CANCEL_RESTING"\n'),
     'accounts.ALICE.stp', 'must be one of none, cancel_aggressor, cancel_resting, '
                           'cancel_both, decrement; got "CANCEL_RESTING"'),
    (account('stp = 2\n'),
     'accounts.ALICE.stp', 'must be one of none, cancel_aggressor, cancel_resting, '
                           'cancel_both, decrement; got 2'),
    (account('stp_group = "FIRM A"\n'),
     'accounts.ALICE.stp_group', 'must be a name (printable ASCII without commas or '
                                 'whitespace), got "FIRM A"'),
    (account('stp_group = 7\n'),
     'accounts.ALICE.stp_group', 'must be a name (printable ASCII without commas or '
                                 'whitespace), got 7'),
    # missing or malformed sections
    ("[accounts.ALICE]\n",
     'instruments', 'at least one instrument is required, e.g. [instruments.AAPL] with '
                    'tick_size = "0.01"'),
    ("[instruments]\n[accounts.ALICE]\n",
     'instruments', 'at least one instrument is required, e.g. [instruments.AAPL] with '
                    'tick_size = "0.01"'),
    ('[instruments.XYZ]\ntick_size = "0.01"\n',
     'accounts', 'at least one account is required, e.g. [accounts.ALICE]'),
    ("",
     'instruments', 'at least one instrument is required, e.g. [instruments.AAPL] with '
                    'tick_size = "0.01"'),
    ('instruments = 5\n[accounts.ALICE]\n',
     'instruments', 'must be a table, got an integer'),
    ('[instruments]\nXYZ = "0.01"\n[accounts.ALICE]\n',
     'instruments.XYZ', 'must be a table, got "0.01"'),
    (GOOD + "engine = 1\n",
     'accounts.ALICE.engine', 'unknown key (known keys: stp, stp_group)'),
    ('engine = 1\n' + GOOD,
     'engine', 'must be a table, got 1'),
    # bad names
    ('[instruments."A B"]\ntick_size = "1"\n[accounts.ALICE]\n',
     'instruments."A B"', 'symbol must be printable ASCII without commas or whitespace, '
                          'got "A B"'),
    ('[instruments."A,B"]\ntick_size = "1"\n[accounts.ALICE]\n',
     'instruments."A,B"', 'symbol must be printable ASCII without commas or whitespace, '
                          'got "A,B"'),
    ('[instruments.""]\ntick_size = "1"\n[accounts.ALICE]\n',
     'instruments.""', 'symbol must be printable ASCII without commas or whitespace, '
                       'got ""'),
    ('[instruments."caf\u00e9"]\ntick_size = "1"\n[accounts.ALICE]\n',
     'instruments."caf\\u00e9"', 'symbol must be printable ASCII without commas or '
                                 'whitespace, got "caf\\u00e9"'),
    ('[instruments.XYZ]\ntick_size = "1"\n[accounts."AL ICE"]\n',
     'accounts."AL ICE"', 'account name must be printable ASCII without commas or '
                          'whitespace, got "AL ICE"'),
    # key paths quote what TOML would quote
    ('[instruments."BRK.B"]\ntick_size = "0"\n[accounts.ALICE]\n',
     'instruments."BRK.B".tick_size', 'must be a positive decimal, got "0"'),
    # TOML syntax
    ('[instruments.XYZ]\ntick_size = "0.01"\n[accounts.ALICE\n',
     'line 3, column 16', "invalid TOML: Expected ']' at the end of a table declaration"),
    ('[instruments.XYZ]\ntick_size = 0.01.2\n',
     'line 2, column 17', "invalid TOML: Expected newline or end of document after a "
                          "statement"),
    ('[instruments.XYZ]\ntick_size = "0.01\n',
     'line 2, column 18', "invalid TOML: Illegal character '\\n'"),
    ('[instruments.XYZ]\n[instruments.XYZ]\n',
     'line 2, column 17', "invalid TOML: Cannot declare ('instruments', 'XYZ') twice"),
    ('[instruments.XYZ]\ntick_size =',
     'end of document', "invalid TOML: Invalid value"),
]


@pytest.mark.parametrize("text, path, problem", ERRORS)
def test_errors_name_the_key_path_and_the_problem(text, path, problem):
    with pytest.raises(ConfigError) as e:
        parse_config(text, "venue.toml")
    assert (e.value.path, e.value.problem) == (path, problem)
    assert str(e.value) == f"venue.toml: {path}: {problem}"
    assert e.value.source == "venue.toml"


def test_the_brief_example_verbatim():
    with pytest.raises(ConfigError) as e:
        parse_config('[instruments.XYZ]\ntick_size = "0"\n[accounts.A]\n', "venue.toml")
    assert str(e.value) == ('venue.toml: instruments.XYZ.tick_size: '
                            'must be a positive decimal, got "0"')


def test_config_error_is_a_value_error_and_the_default_source():
    with pytest.raises(ValueError, match="^<string>: instruments: "):
        parse_config("")


@pytest.mark.parametrize("name, ok", [
    ("AAPL", True), ("BRK.B", True), ("ES-Z5", True), ("a_b/c:d", True), ("~!@#$%^&*()", True),
    ("", False), ("A B", False), ("A,B", False), ("A\tB", False), ("A\n", False),
    ("caf\u00e9", False), ("A\x7f", False),
])
def test_names(name, ok):
    assert is_valid_name(name) is ok


# ------------------------------------------------------------------ files

def test_round_trip_of_a_written_file(tmp_path):
    text = textwrap.dedent("""\
        # a venue of two
        [instruments.ESZ5]
        tick_size = "0.25"
        price_band = ["4000.00", "6000.00"]

        [instruments."BRK.B"]
        tick_size = "0.01"
        lot_size = 100

        [accounts.ALICE]
        stp = "cancel_aggressor"
        stp_group = "A"
        """)
    path = tmp_path / "venue.toml"
    path.write_text(text, encoding="utf-8")
    cfg = load_config(path)
    assert cfg == parse_config(text, str(path))
    assert load_config(str(path)) == cfg
    assert cfg.source == str(path)
    assert cfg.instruments["ESZ5"] == InstrumentConfig(Tick(25, 2), 1, 16000, 24000)
    assert cfg.instruments["BRK.B"].lot == 100
    assert cfg.accounts["ALICE"] == AccountConfig(StpMode.CANCEL_AGGRESSOR, "A")


def test_the_default_file_written_out_loads_the_same(tmp_path):
    from importlib import resources
    text = resources.files("engine").joinpath("default_config.toml").read_text("utf-8")
    path = tmp_path / "copy.toml"
    path.write_text(text, encoding="utf-8")
    copy, default = load_config(path), load_config()
    assert (copy.instruments, copy.accounts) == (default.instruments, default.accounts)


def test_errors_name_the_file(tmp_path):
    path = tmp_path / "venue.toml"
    path.write_text(instrument('tick_size = "0"\n'), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(e.value) == f'{path}: instruments.XYZ.tick_size: must be a positive decimal, got "0"'


def test_missing_file(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(e.value) == f"{path}: cannot read the file: No such file or directory"
    assert e.value.path == ""


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('[instruments."CAF\u00c9"]\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r": not UTF-8 text \(byte 17\)$"):
        load_config(path)


# ------------------------------------------------------------------ reference data

def test_refdata_from_the_default_config():
    ref = ReferenceData.from_config(load_config())
    assert not ref.open_ended
    assert (ref.instrument_count, ref.account_count) == (5, 4)
    assert [ref.instrument(s) for s in ("AAPL", "MSFT", "F", "ESZ5", "EURUSD")] == [0, 1, 2, 3, 4]
    assert [ref.account(a) for a in ("ALICE", "BOB", "FIRMA-MM", "FIRMA-ARB")] == [0, 1, 2, 3]
    assert ref.symbols() == ["AAPL", "MSFT", "F", "ESZ5", "EURUSD"]
    assert ref.account_names() == ["ALICE", "BOB", "FIRMA-MM", "FIRMA-ARB"]
    assert (ref.symbol(3), ref.account_name(2)) == ("ESZ5", "FIRMA-MM")
    assert (ref.tick(3), ref.lot(2), ref.currency(4)) == (Tick(25, 2), 100, "USD")
    assert ref.book_specs() == [BookSpec(1, 100, 100000), BookSpec(1, 100, 200000),
                                BookSpec(100, 50, 10000), BookSpec(1, 4000, 40000),
                                BookSpec(1000, 5000, 20000)]
    assert ref.account_specs() == [AccountSpec(), AccountSpec(),
                                   AccountSpec(StpMode.CANCEL_RESTING, 0),
                                   AccountSpec(StpMode.DECREMENT, 0)]


def test_refdata_prices():
    ref = ReferenceData.from_config(load_config())
    assert ref.price_to_ticks(3, "5012.75") == 20051
    assert ref.ticks_to_price(3, 20051) == "5012.75"
    assert ref.price_to_ticks(4, "1.0850") == 10850
    assert ref.ticks_to_price(0, 18725) == "187.25"
    with pytest.raises(PriceError, match="^stop price 5012.10 is not on the tick grid of 0.25$"):
        ref.price_to_ticks(3, "5012.10", what="stop price")


def test_stp_groups_are_numbered_in_order_of_first_appearance():
    cfg = parse_config("""
        [instruments.X]
        tick_size = "1"
        [accounts.A]
        stp_group = "second-firm"
        [accounts.B]
        [accounts.C]
        stp = "cancel_both"
        stp_group = "first-firm"
        [accounts.D]
        stp_group = "second-firm"
        """)
    specs = ReferenceData.from_config(cfg).account_specs()
    assert [s.stp_group for s in specs] == [0, None, 1, 0]
    assert [s.stp_mode for s in specs] == [StpMode.NONE, StpMode.NONE, StpMode.CANCEL_BOTH,
                                           StpMode.NONE]


def test_refdata_unknown_names():
    ref = ReferenceData.from_config(load_config())
    with pytest.raises(UnknownName) as e:
        ref.instrument("TSLA")
    assert e.value.reason == ReasonCode.UNKNOWN_SYMBOL
    assert str(e.value) == "unknown symbol 'TSLA'" and e.value.name == "TSLA"
    with pytest.raises(KeyError):
        ref.account("MALLORY")
    with pytest.raises(UnknownName) as e:
        ref.account("MALLORY")
    assert e.value.reason == ReasonCode.UNKNOWN_ACCOUNT
    assert str(e.value) == "unknown account 'MALLORY'"
    assert ref.instrument_count == 5 and ref.account_count == 4   # nothing was added


@pytest.mark.parametrize("method", ["symbol", "tick", "lot", "currency", "account_name"])
def test_refdata_index_out_of_range(method):
    ref = ReferenceData.from_config(load_config())
    with pytest.raises(IndexError):
        getattr(ref, method)(-1)
    with pytest.raises(IndexError):
        getattr(ref, method)(5)


def test_refdata_returns_copies():
    ref = ReferenceData.from_config(load_config())
    ref.book_specs().clear()
    ref.symbols().clear()
    assert len(ref.book_specs()) == 5 and len(ref.symbols()) == 5


def test_open_ended_refdata():
    ref = ReferenceData.any_symbol(Tick.parse("0.05"))
    assert ref.open_ended
    assert ref.book_specs() == [] and ref.account_specs() == []
    opened = []
    ref.on_new_instrument = lambda index, spec: opened.append(("instrument", index, spec))
    ref.on_new_account = lambda index, spec: opened.append(("account", index, spec))
    assert ref.instrument("ZZZ") == 0
    assert ref.account("anyone") == 0
    assert ref.instrument("YYY") == 1
    assert ref.instrument("ZZZ") == 0            # seen before: no callback
    assert ref.account("anyone") == 0
    assert opened == [("instrument", 0, BookSpec()), ("account", 0, AccountSpec()),
                      ("instrument", 1, BookSpec())]
    assert ref.symbol(1) == "YYY" and ref.account_name(0) == "anyone"
    assert (ref.tick(1), ref.lot(1)) == (Tick(5, 2), 1)
    assert ref.price_to_ticks(1, "1.25") == 25 and ref.ticks_to_price(1, 25) == "1.25"
    with pytest.raises(PriceError):
        ref.price_to_ticks(1, "1.26")


def test_open_ended_without_callbacks():
    ref = ReferenceData.any_symbol(Tick.parse("1"))
    assert (ref.instrument("A"), ref.instrument("B"), ref.account("X")) == (0, 1, 0)
    assert ref.book_specs() == [BookSpec(), BookSpec()]


def test_open_ended_refuses_names_that_cannot_be_written_to_csv():
    ref = ReferenceData.any_symbol(Tick.parse("0.01"))
    with pytest.raises(UnknownName) as e:
        ref.instrument("A B")
    assert e.value.reason == ReasonCode.UNKNOWN_SYMBOL
    with pytest.raises(UnknownName) as e:
        ref.account("")
    assert e.value.reason == ReasonCode.UNKNOWN_ACCOUNT
    assert ref.instrument_count == 0 and ref.account_count == 0


def test_a_failing_callback_leaves_the_name_unknown():
    ref = ReferenceData.any_symbol(Tick.parse("0.01"))

    def refuse(index, spec):
        raise RuntimeError("engine full")

    ref.on_new_instrument = refuse
    ref.on_new_account = refuse
    with pytest.raises(RuntimeError):
        ref.instrument("A")
    with pytest.raises(RuntimeError):
        ref.account("X")
    assert ref.instrument_count == 0 and ref.account_count == 0
    ref.on_new_instrument = ref.on_new_account = None
    assert (ref.instrument("A"), ref.account("X")) == (0, 0)


def test_open_ended_refdata_keeps_an_engine_in_step():
    ref = ReferenceData.any_symbol(Tick.parse("0.01"))
    engine = ReferenceEngine(ref.book_specs(), ref.account_specs())
    ref.on_new_instrument = lambda index, spec: engine.add_instrument(spec)
    ref.on_new_account = lambda index, spec: engine.add_account(spec)
    sym, alice, bob = ref.instrument("XYZ"), ref.account("ALICE"), ref.account("BOB")
    price = ref.price_to_ticks(sym, "10.50")
    engine.submit(NewOrder(order_id=1, instrument=sym, account=alice, side=Side.SELL, qty=5,
                           price=price))
    events = engine.submit(NewOrder(order_id=2, instrument=sym, account=bob, side=Side.BUY,
                                    qty=5, price=price))
    trades = [e for e in events if isinstance(e, Trade)]
    assert len(trades) == 1 and ref.ticks_to_price(sym, trades[0].price) == "10.50"


def test_default_stp_group_keeps_the_firm_from_trading_with_itself():
    ref = ReferenceData.from_config(load_config())
    engine = ReferenceEngine(ref.book_specs(), ref.account_specs())
    aapl, price = ref.instrument("AAPL"), ref.price_to_ticks(0, "187.25")
    engine.submit(NewOrder(order_id=1, instrument=aapl, account=ref.account("FIRMA-ARB"),
                           side=Side.SELL, qty=10, price=price))
    events = engine.submit(NewOrder(order_id=2, instrument=aapl, account=ref.account("FIRMA-MM"),
                                    side=Side.BUY, qty=10, price=price))
    assert not [e for e in events if isinstance(e, Trade)]
    cancelled = [e for e in events if isinstance(e, Cancelled)]
    assert [(c.order_id, c.cause) for c in cancelled] == [(1, CancelCause.SELF_TRADE)]
    # another firm's account trades with it as usual
    events = engine.submit(NewOrder(order_id=3, instrument=aapl, account=ref.account("ALICE"),
                                    side=Side.SELL, qty=10, price=price))
    assert [e for e in events if isinstance(e, Trade)]
