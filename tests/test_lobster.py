"""LOBSTER replay: parsing, reconstruction through the engine, the row check,
--match, the report, bad input. Synthetic pairs (`tests/lobster_synth.py`)
stand in for LOBSTER's samples, which the project may not ship; the real
files are checked against their README when they are on this machine."""
import gzip
import io
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import lobster_synth as synth
from oms import lobster
from oms.lobster_book import MISMATCH
from oms.lobster_parse import MESSAGE_DTYPE, read_messages, read_orderbook

ROOT = Path(__file__).resolve().parent.parent

# A hand-made level-1 day. Before the file: ask 100.00 x 200, a hidden
# second ask 100.01 x 50, bid 99.00 x 100.
TINY_MESSAGES = """\
34200.000000001,1,11,100,990000,1
34200.000000002,3,5,200,1000000,-1
34200.000000002,4,11,100,990000,1
34200.1,5,0,30,995000,1
34200.2,2,7,40,990000,1
"""
TINY_BOOK = """\
1000000,200,990000,200
1000100,50,990000,200
1000100,50,990000,100
1000100,50,990000,100
1000100,50,990000,60
"""


def write(tmp_path, name, text, gz=False):
    path = tmp_path / name
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    return str(path)


def replay_text(tmp_path, messages, book, **kw):
    return lobster.replay_pair(write(tmp_path, "m.csv", messages),
                               write(tmp_path, "o.csv", book), **kw)


# ---------------------------------------------------------------- parsing

def test_time_is_exact_integer_nanoseconds(tmp_path):
    path = write(tmp_path, "m.csv", "34200.017459617,1,1,1,1,1\n34200.5,1,2,1,1,1\n"
                                    "34201,1,3,1,1,1\n57599.95935965,1,4,1,1,-1\n")
    assert read_messages(path)["ts"].tolist() == [
        34_200_017_459_617, 34_200_500_000_000, 34_201_000_000_000, 57_599_959_359_650]


def test_gzip_crlf_and_a_last_line_without_newline_read_the_same(tmp_path):
    plain = read_orderbook(write(tmp_path, "a.csv", TINY_BOOK))
    other = read_orderbook(write(tmp_path, "b.csv.gz",
                                 TINY_BOOK.replace("\n", "\r\n").rstrip(), gz=True))
    assert plain.dtype == np.int64 and plain.shape == (5, 4)
    assert np.array_equal(plain, other)


def test_padding_and_negative_bid_padding_parse(tmp_path):
    rows = read_orderbook(write(tmp_path, "o.csv", "9999999999,0,-9999999999,0\n"))
    assert rows.tolist() == [[9_999_999_999, 0, -9_999_999_999, 0]]


# ---------------------------------------------------------------- replay

def test_tiny_day_exact_and_revealed(tmp_path):
    r = replay_text(tmp_path, TINY_MESSAGES, TINY_BOOK)
    assert (r["rows"], r["exact"], r["revealed"], r["mismatch"]) == (5, 4, 1, 0)
    assert r["short"] == 0 and r["rejects"] == 0


def test_a_wrong_row_is_a_mismatch_with_both_books(tmp_path):
    book = TINY_BOOK.replace("990000,60", "990000,61")
    r = replay_text(tmp_path, TINY_MESSAGES, book)
    assert (r["exact"], r["revealed"], r["mismatch"]) == (3, 1, 1)
    first = r["first_mismatches"][0]
    assert first["line"] == 5 and first["message"] == "34200.200000000,2,7,40,990000,1"
    assert first["engine"]["bids"] == [[990000, 60]]
    assert first["file"]["bids"] == [[990000, 61]]


@pytest.mark.parametrize("depth,seed", [(1, 1), (2, 2), (5, 3), (10, 4)])
def test_synthetic_pairs_give_the_independent_counts(tmp_path, depth, seed):
    pair = synth.generate(4000, depth, seed)
    expected = synth.naive_check(pair.messages, pair.rows, depth)
    got = lobster.replay_pair(*map(str, pair.write(tmp_path)))
    assert expected["mismatch"] == 0
    assert {k: got[k] for k in expected} == expected
    assert got["rows"] == 4000 and got["short"] == 0 and got["rejects"] == 0


def test_the_generator_has_lobsters_quirks():
    pair = synth.generate(4000, 1, 1)
    msgs = pair.messages
    submitted = {m[2] for m in msgs if m[1] == 1}
    assert sum(1 for m in msgs if m[1] in (2, 3, 4) and m[2] not in submitted) > 100
    assert sum(1 for m in msgs if m[1] == 5) > 50
    assert max(Counter(m[0] for m in msgs).values()) >= 4      # many messages per time
    assert synth.naive_check(msgs, pair.rows, 1)["revealed"] > 100
    first = msgs[0]
    assert pair.rows[0][1] > (first[3] if first[1] == 1 and first[5] == -1 else 0)


@pytest.mark.parametrize("match", [False, True])
def test_the_engine_grows_mid_replay_without_changing_the_result(match):
    pair = synth.generate(3000, 3, 9)
    msgs = np.array([(ts, oid, size, price, typ, d) for ts, typ, oid, size, price, d
                     in pair.messages], dtype=MESSAGE_DTYPE)
    rows = np.array(pair.rows, np.int64)
    tiny = {"order_capacity": 4, "level_capacity": 2, "ladder_ticks": 2, "event_capacity": 4}
    roomy = lobster.LobsterReplay(3, match=match).run(msgs, rows)
    grown = lobster.LobsterReplay(3, match=match, engine_options=tiny).run(msgs, rows)
    assert np.array_equal(roomy.status, grown.status)
    assert (grown.runs_agree, grown.runs_differ) == (roomy.runs_agree, roomy.runs_differ)
    assert grown.count(MISMATCH) == 0


def test_levels_compares_fewer_levels_than_the_file_has(tmp_path):
    pair = synth.generate(2000, 5, 7)
    paths = list(map(str, pair.write(tmp_path)))
    two = synth.naive_check(pair.messages, [r[:8] for r in pair.rows], 2)
    got = lobster.replay_pair(*paths, levels=2)
    assert got["depth"] == 2 and {k: got[k] for k in two} == two


def test_without_the_check_only_row_zero_is_read(tmp_path):
    pair = synth.generate(2000, 2, 5)
    messages, book = pair.write(tmp_path)
    book.write_bytes(gzip.compress(gzip.decompress(book.read_bytes()).split(b"\n")[0]
                                   + b"\nnot,a,book\n"))
    r = lobster.replay_pair(str(messages), str(book), check=False)
    assert r["rows"] == 2000 and not r["checked"] and r["mismatch"] == 0
    assert r["messages_per_second"] > 0


# ---------------------------------------------------------------- --match

def test_match_runs_agree_when_every_queue_is_visible(tmp_path):
    pair = synth.generate(4000, 5, 11, max_levels=5)
    r = lobster.replay_pair(*map(str, pair.write(tmp_path)), match=True)
    runs = Counter((m[0], m[5]) for m in pair.messages if m[1] == 4)
    assert r["runs_agree"] >= len(runs) and r["runs_differ"] == 0
    assert r["mismatch"] == 0 and r["unchecked"] > 0


def test_match_reports_a_run_that_skips_the_queue(tmp_path):
    # two orders at the bid; LOBSTER executes the younger one first
    messages = ("34200.1,1,1,100,990000,1\n34200.2,1,2,100,990000,1\n"
                "34200.3,4,2,100,990000,1\n")
    book = "1000000,100,990000,100\n1000000,100,990000,200\n1000000,100,990000,100\n"
    r = replay_text(tmp_path, messages, book, match=True)
    assert (r["runs_agree"], r["runs_differ"]) == (0, 1)
    run = r["first_differing_runs"][0]
    assert run["lines"] == [3, 3]
    assert run["lobster"] == [[2, 990000, 100]] and run["engine"] == [[1, 990000, 100]]


# ---------------------------------------------------------------- the command's door

def test_run_prints_a_summary_and_json_last(tmp_path):
    m, o = write(tmp_path, "m.csv", TINY_MESSAGES), write(tmp_path, "o.csv.gz", TINY_BOOK, gz=True)
    buf = io.StringIO()
    assert lobster.run([m, m], [o, o], None, True, False, True, out=buf) == 0
    out = buf.getvalue().splitlines()
    summary = json.loads(out[-1])
    assert {k: summary[k] for k in ("rows", "exact", "revealed", "mismatch")} == {
        "rows": 10, "exact": 8, "revealed": 2, "mismatch": 0}
    assert summary["messages_per_second"] > 0 and len(summary["files"]) == 2
    assert any("exact 4, revealed 1, mismatch 0" in line for line in out)


def test_workers_replay_each_pair_in_its_own_process(tmp_path):
    m, o = write(tmp_path, "m.csv", TINY_MESSAGES), write(tmp_path, "o.csv.gz", TINY_BOOK, gz=True)
    alone, apart = io.StringIO(), io.StringIO()
    assert lobster.run([m, m], [o, o], None, True, False, True, out=alone) == 0
    assert lobster.run([m, m], [o, o], None, True, False, True, out=apart, workers=2) == 0
    keys = ("rows", "exact", "revealed", "mismatch")
    one, two = json.loads(alone.getvalue().splitlines()[-1]), \
        json.loads(apart.getvalue().splitlines()[-1])
    assert {k: one[k] for k in keys} == {k: two[k] for k in keys}
    bad = write(tmp_path, "bad.csv", "1,2,3\n")
    assert lobster.run([m, bad], [o, o], None, False, False, True, workers=2) == 2


def test_dask_replays_each_pair_as_a_task(tmp_path):
    distributed = pytest.importorskip("distributed")
    m, o = write(tmp_path, "m.csv", TINY_MESSAGES), write(tmp_path, "o.csv.gz", TINY_BOOK, gz=True)
    buf = io.StringIO()
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        assert lobster.run([m, m], [o, o], None, True, False, True, out=buf,
                           dask=cluster.scheduler_address) == 0
    summary = json.loads(buf.getvalue().splitlines()[-1])
    assert (summary["rows"], summary["mismatch"], len(summary["files"])) == (10, 0, 2)


def test_run_exits_1_on_a_mismatch_and_shows_the_books(tmp_path):
    m = write(tmp_path, "m.csv", TINY_MESSAGES)
    o = write(tmp_path, "o.csv", TINY_BOOK.replace("990000,60", "990000,61"))
    buf = io.StringIO()
    assert lobster.run([m], [o], None, False, False, True, out=buf) == 1
    out = buf.getvalue()
    assert "mismatch at line 5: 34200.200000000,2,7,40,990000,1" in out
    assert "60 @ 99.0000" in out and "61 @ 99.0000" in out


BAD_MESSAGES = [
    ("34200.1,1,1,100,990000\n", "m.csv:1: 5 fields, expected 6"),
    ("34200.1,1,1,100,990000,1\n34200.2,1,x,100,990000,1\n", "m.csv:2: field 3: not an integer"),
    ("34200.1234567891,1,1,100,990000,1\n", "m.csv:1: field 1: more than 9 decimals"),
    ("34200.2,1,1,100,990000,1\n34200.1,1,2,100,990000,1\n", "m.csv:2: time goes backwards"),
    ("34200.1,8,1,100,990000,1\n", "m.csv:1: event type 8 is not 1-7"),
    ("34200.1,1,1,100,990000,0\n", "m.csv:1: direction 0 is not 1 or -1"),
    ("34200.1,1,1,0,990000,1\n", "m.csv:1: size 0 is not positive"),
    ("34200.1,1,1,100,990000,1\n\n", "m.csv:2: empty line"),
    ("34200.1,1,1,100,990000,1\n,1,2,100,990000,1\n", "m.csv:2: field 1: not an integer"),
    ("34200.1,1,1,100,990000,1\n.5,1,2,100,990000,1\n", "m.csv:2: field 1: not an integer"),
    ("34200.1,1,1,100,99000000000000000000,1\n", "m.csv:1: field 5: number too large"),
]


@pytest.mark.parametrize("text,expected", BAD_MESSAGES)
def test_bad_messages_are_one_line_naming_file_and_line(tmp_path, capsys, text, expected):
    m = write(tmp_path, "m.csv", text)
    o = write(tmp_path, "o.csv", "1000000,100,990000,100\n" * text.count("\n"))
    assert lobster.run([m], [o], None, False, False, True) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err


@pytest.mark.parametrize("book,levels,expected", [
    ("1000000,100,990000\n", None, "o.csv:1: 3 fields, expected a multiple of 4"),
    ("1000000,100,990000,100\n1000000,100,990000\n", None, "o.csv:2: 3 fields, expected 4"),
    ("1000000,-5,990000,100\n", None, "o.csv:1: size -5 is negative"),
    ("1000000,100,990000,100\n1000000,100,990000,100\n", None,
     "o.csv: 2 rows, but"),
    ("1000000,100,990000,100\n", 2, "o.csv: --levels 2: the file has 1 level"),
])
def test_bad_orderbooks(tmp_path, capsys, book, levels, expected):
    m = write(tmp_path, "m.csv", "34200.1,1,1,100,990000,1\n")
    assert lobster.run([m], [write(tmp_path, "o.csv", book)], levels, False, False, True) == 2
    assert expected in capsys.readouterr().err


def test_unreadable_files(tmp_path, capsys):
    m = write(tmp_path, "m.csv", "34200.1,1,1,100,990000,1\n")
    bad_gz = tmp_path / "o.csv.gz"
    bad_gz.write_bytes(b"\x1f\x8b\x08\x00garbage")
    assert lobster.run([m], [str(bad_gz)], None, False, False, True) == 2
    assert "o.csv.gz: not a readable gzip file" in capsys.readouterr().err
    assert lobster.run([m], [str(tmp_path / "none.csv")], None, False, False, True) == 2
    assert "none.csv: No such file" in capsys.readouterr().err
    assert lobster.run([m, m], [m], None, False, False, True) == 2
    assert "2 message files but 1 orderbook files" in capsys.readouterr().err


# ---------------------------------------------------------------- LOBSTER's samples

def sample_dir() -> Path | None:
    for folder in (os.environ.get("OMS_LOBSTER_DIR"), ROOT.parent / "shared/data/lobster"):
        if folder and Path(folder).is_dir():
            return Path(folder)
    return None


SAMPLES = {   # pair: (exact, revealed) from the samples' README; mismatch 0
    "AMZN_2012-06-21_34200000_57600000_{}_1": (43_562, 13_953),
    "GOOG_2012-06-21_34200000_57600000_{}_1": (38_275, 11_207),
    "subsets/AAPL_2012-06-21_34200000_57600000_{}_10": (681, 318),
    "subsets/MSFT_2012-06-21_34200000_37800000_{}_50": (993, 7),
}
needs_samples = pytest.mark.skipif(sample_dir() is None,
                                   reason="LOBSTER samples not here (OMS_LOBSTER_DIR)")


def sample(name: str) -> tuple[str, str]:
    return tuple(str(sample_dir() / (name.format(kind) + ".csv.gz"))
                 for kind in ("message", "orderbook"))


@needs_samples
@pytest.mark.parametrize("name", SAMPLES)
def test_lobster_samples_match_their_readme(name):
    r = lobster.replay_pair(*sample(name))
    assert (r["exact"], r["revealed"], r["mismatch"]) == (*SAMPLES[name], 0)
    assert r["short"] == 0 and r["rejects"] == 0


@needs_samples
@pytest.mark.parametrize("name", [n for n in SAMPLES if n.startswith("subsets/")])
def test_every_execution_run_agrees_in_the_deep_samples(name):
    r = lobster.replay_pair(*sample(name), match=True)
    assert r["runs_differ"] == 0 and r["runs_agree"] > 30 and r["mismatch"] == 0
