"""The journal's byte format against its specification, docs/JOURNAL.md.

Two verifiers read every journal here: the project's (`reporting.reader.scan`
and `oms journal verify`) and `tests/journal_spec_verifier.py`, written from
the document alone. Both must accept what the project writes (a journal of
`reporting.journal.Journal` with several sealed segments, and one of the real
`oms replay --journal`), and both must refuse any tampering with a closed
journal: a byte flipped, a range deleted, bytes inserted or appended, two
frames swapped, a file truncated, a segment deleted or renamed.

The one thing no verifier can see is documented as such: an open (not
closed) journal whose last segment is cut exactly at a frame boundary looks
like a crash before those records were written; it reads as intact but open.

HEAD is compared byte for byte by both verifiers (`test_head_reread_byte_for_byte`):
a change that leaves its JSON values equal (white space, the final newline,
``40`` -> ``40.0``) or drops ``"closed"`` is caught too.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import journal_spec_verifier as spec
from reporting import fastpath
from reporting import format as fmt
from reporting.journal import Journal
from reporting.reader import JournalError, records as project_records, scan

ROOT = Path(__file__).resolve().parent.parent
DEMO_FLOW = ROOT / "oms" / "data" / "demo_flow.csv"
SEGMENT_BYTES = 400

# Payloads with edge cases: empty, one byte, ones that begin with the seal's
# or a segment's magic, and a few larger than a small segment.
PAYLOADS = ([b"", b"\x00", b"OMSJ", b"OMSJSEAL" + bytes(76), b"OMSJSEG1"]
            + [bytes([i % 256]) * (i * 7 % 61) for i in range(5, 40)]
            + [bytes(range(256)) * 2, b"\xff" * 450, b"a" * 10, b"b" * 20, b"c" * 5])


def _bounded(n: int):
    """At most n examples under the ci and quick profiles (tests/conftest.py),
    fewer if the profile asks for fewer; the thorough profile's own number."""
    profile = settings().max_examples
    return settings(max_examples=profile if profile > 200 else min(n, profile))


def oms(*args):
    return subprocess.run([sys.executable, "-m", "oms.cli", *map(str, args)],
                          capture_output=True, text=True, env=dict(os.environ), timeout=300)


def read_dir(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(Path(d).iterdir()) if p.is_file()}


def write_dir(d: Path, files: dict[str, bytes]) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (d / name).write_bytes(data)


def copy_writable(src: Path, dst: Path) -> Path:
    """A copy of a journal whose files may be changed (sealed ones are 0444)."""
    shutil.copytree(src, dst)
    for p in dst.iterdir():
        os.chmod(p, 0o644)
    return dst


def project_detects(d: Path) -> bool:
    """`scan` refuses it (a torn tail counts: `oms journal verify` exits 1 on one)."""
    try:
        scan(d, allow_torn_tail=False)
    except JournalError:
        return True
    return False


def frame_spans(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each frame of a segment file."""
    out, pos = [], fmt.HEADER.size
    while pos < len(data) and data[pos:pos + 4] != b"OMSJ":
        length = int.from_bytes(data[pos:pos + 4], "little")
        out.append((pos, pos + 8 + length + 32))
        pos += 8 + length + 32
    return out


def build(directory: Path, payloads, close=True, many=False) -> Journal:
    j = Journal(directory, "none", segment_bytes=SEGMENT_BYTES)
    if many:                        # in batches: a segment is sealed after a batch
        for k in range(0, len(payloads), 5):
            j.append_many(list(payloads[k:k + 5]))
    else:
        for p in payloads:
            j.append(p)
    if close:
        j.close()
    else:
        j.sync()
    return j


@pytest.fixture(scope="module")
def closed_journal(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("closed") / "j"
    build(d, PAYLOADS)
    return d


@pytest.fixture(scope="module")
def closed_files(closed_journal) -> dict[str, bytes]:
    return read_dir(closed_journal)


@pytest.fixture(scope="module")
def open_files(tmp_path_factory) -> dict[str, bytes]:
    d = tmp_path_factory.mktemp("open") / "j"
    build(d, PAYLOADS, close=False)
    return read_dir(d)


@pytest.fixture(scope="module")
def cli_journal(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("cli") / "j"
    r = oms("replay", DEMO_FLOW, "--journal", d)
    assert r.returncode == 0, r.stderr
    return d


class Tampered:
    """The journal `files` in a scratch directory: one per test process,
    rewritten file by file (function-scoped fixtures do not mix with @given,
    and a fresh directory per example would cost more than the checks)."""

    _dir: Path | None = None
    _state: dict[str, bytes] = {}

    def __init__(self, files: dict[str, bytes]):
        self.files = files

    def __enter__(self) -> Path:
        cls = Tampered
        if cls._dir is None or not cls._dir.exists():
            cls._dir = Path(tempfile.mkdtemp(prefix="journal-tamper-"))
            cls._state = {}
        for name in set(cls._state) - set(self.files):
            (cls._dir / name).unlink()
        for name, data in self.files.items():
            if cls._state.get(name) != data:
                (cls._dir / name).write_bytes(data)
        cls._state = dict(self.files)
        assert read_dir(cls._dir) == self.files
        return cls._dir

    def __exit__(self, *exc):
        pass


@pytest.fixture(scope="module", autouse=True)
def _remove_scratch():
    yield
    if Tampered._dir is not None:
        shutil.rmtree(Tampered._dir, ignore_errors=True)
        Tampered._dir = None


def check_detected(files: dict[str, bytes], original: dict[str, bytes]) -> None:
    """Both verifiers refuse the tampered journal."""
    assert files != original, "not a change"
    with Tampered(files) as d:
        problems = spec.verify(d)
        assert problems, "the specification verifier accepted a tampered journal"
        assert project_detects(d), \
            f"reporting.reader.scan accepted a tampered journal ({problems[0]})"


# ------------------------------------------------------------------ the primitives

def test_document_check_values():
    import zlib
    assert zlib.crc32(b"123456789") == 0xCBF43926
    assert int.from_bytes(b"OMSJ", "little") == 0x4A534D4F > fmt.MAX_PAYLOAD
    assert spec.chain_next(spec.ZERO32, 0, b"x") == fmt.chain(fmt.ZERO_HASH, 0, b"x")


# RFC 6962 Merkle tree hashes of the certificate-transparency test inputs
# (the first n of them), from its reference implementation's tests.
CT_INPUTS = [b"", b"\x00", b"\x10", b"\x20\x21", b"\x30\x31", b"\x40\x41\x42\x43",
             bytes(range(0x50, 0x58)), bytes(range(0x60, 0x70))]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_merkle_root_rfc6962_vectors():
    assert spec.merkle_root([]).hex() == \
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    for n, root in enumerate(CT_ROOTS, 1):
        assert spec.merkle_root(CT_INPUTS[:n]).hex() == root
        assert fmt.merkle_root([fmt.leaf_hash(p) for p in CT_INPUTS[:n]]).hex() == root


@pytest.mark.parametrize("n", [*range(0, 35), 63, 64, 65, 100, 127, 128, 129])
def test_merkle_root_bottom_up_equals_recursive_split(n):
    """The project builds the tree bottom-up (plain Python and compiled); the
    document defines it by the recursive split."""
    payloads = [bytes([i]) * (i % 5) for i in range(n)]
    leaves = [fmt.leaf_hash(p) for p in payloads]
    want = spec.merkle_root(payloads)
    assert fmt.merkle_root(leaves) == want
    if fastpath.available() and n:
        assert fastpath.Hasher().merkle_root(b"".join(leaves)) == want


# ------------------------------------------------------------------ good journals

@pytest.mark.parametrize("close", [True, False], ids=["closed", "open"])
@pytest.mark.parametrize("many", [False, True], ids=["append", "append_many"])
def test_project_journal_accepted_by_both(tmp_path, close, many):
    build(tmp_path / "j", PAYLOADS, close=close, many=many)
    d = tmp_path / "j"
    segs = sorted(d.glob("*.seg"))
    assert len(segs) >= 5
    assert all(os.stat(p).st_mode & 0o222 == 0 for p in segs[:-1])     # sealed: read-only
    info = spec.inspect(d)
    assert info["problems"] == []
    assert info["payloads"] == PAYLOADS == spec.records(d)
    assert info["closed"] is close
    found = scan(d)
    assert found.torn_bytes == 0 and found.closed is close
    assert found.records == info["records"] == len(PAYLOADS)
    assert found.chain_head.hex() == info["chain_head"]
    assert [p for _, p in project_records(d)] == PAYLOADS


def test_empty_journal(tmp_path):
    """No records: a closed journal of one sealed, empty segment."""
    d = tmp_path / "j"
    build(d, [])
    assert spec.verify(d) == [] and spec.records(d) == []
    found = scan(d)
    assert found.records == 0 and found.closed
    assert (d / "000000000001.seg").stat().st_size == 64 + 84


def test_cli_replay_journal_accepted_by_both(cli_journal):
    info = spec.inspect(cli_journal)
    assert info["problems"] == [] and info["closed"] is True
    assert info["payloads"] == [p for _, p in project_records(cli_journal)]
    assert len(info["payloads"]) == scan(cli_journal).records > 1
    assert spec.payload_problems(info["payloads"]) == []
    r = oms("journal", "verify", cli_journal)
    assert r.returncode == 0, r.stderr
    assert "intact" in r.stdout and info["chain_head"] in r.stdout


def test_head_bytes_as_documented(closed_files, open_files):
    for files, closed in ((closed_files, True), (open_files, False)):
        head = json.loads(files["HEAD"])
        assert head["closed"] is closed
        assert files["HEAD"] == (json.dumps(head) + "\n").encode()
        assert list(head) == ["format", "segment", "closed"] + \
            (["records", "chain_head"] if closed else [])


# ------------------------------------------------------------------ tampering

def _names(files, with_head=True):
    return sorted(n for n in files if with_head or n != "HEAD")


@st.composite
def flips(draw, files):
    name = draw(st.sampled_from(_names(files)))
    data = bytearray(files[name])
    pos = draw(st.integers(0, len(data) - 1))
    data[pos] ^= draw(st.integers(1, 255))
    return name, bytes(data)


@_bounded(300)
@given(data=st.data())
def test_any_byte_flip_detected(closed_files, data):
    name, new = data.draw(flips(closed_files))
    check_detected({**closed_files, name: new}, closed_files)


@_bounded(150)
@given(data=st.data())
def test_any_byte_flip_in_an_open_journal_detected(open_files, data):
    """Open journals too (a flip in the last frame reads as a torn tail: still reported)."""
    name, new = data.draw(flips(open_files))
    check_detected({**open_files, name: new}, open_files)


@_bounded(200)
@given(data=st.data())
def test_deleting_a_byte_range_detected(closed_files, data):
    name = data.draw(st.sampled_from(_names(closed_files)))
    old = closed_files[name]
    start = data.draw(st.integers(0, len(old) - 1))
    stop = data.draw(st.integers(start + 1, len(old)))
    check_detected({**closed_files, name: old[:start] + old[stop:]}, closed_files)


@_bounded(200)
@given(data=st.data())
def test_inserting_bytes_detected(closed_files, data):
    name = data.draw(st.sampled_from(_names(closed_files)))
    old = closed_files[name]
    pos = data.draw(st.integers(0, len(old)))
    extra = data.draw(st.binary(min_size=1, max_size=100)
                      | st.sampled_from([b"\x00" * 40, b" ", b"\n", b"OMSJ"]))
    check_detected({**closed_files, name: old[:pos] + extra + old[pos:]}, closed_files)


@_bounded(200)
@given(data=st.data())
def test_appending_bytes_detected(closed_files, data):
    name = data.draw(st.sampled_from(_names(closed_files)))
    extra = data.draw(st.binary(min_size=1, max_size=200)
                      | st.sampled_from([b"\x00" * 40, b"\x00" * 84, b"\n", b" "]))
    check_detected({**closed_files, name: closed_files[name] + extra}, closed_files)


@_bounded(200)
@given(data=st.data())
def test_truncating_any_file_detected(closed_files, data):
    name = data.draw(st.sampled_from(_names(closed_files)))
    old = closed_files[name]
    length = data.draw(st.integers(0, len(old) - 1))
    check_detected({**closed_files, name: old[:length]}, closed_files)


@_bounded(200)
@given(data=st.data())
def test_swapping_two_frames_detected(closed_files, data):
    segs = [n for n in _names(closed_files, with_head=False) if frame_spans(closed_files[n])]
    a = data.draw(st.sampled_from(segs))
    b = data.draw(st.sampled_from(segs))
    spans_a, spans_b = frame_spans(closed_files[a]), frame_spans(closed_files[b])
    i = data.draw(st.integers(0, len(spans_a) - 1))
    j = data.draw(st.integers(0, len(spans_b) - 1))
    if a == b:
        if len(spans_a) < 2:
            return
        if i == j:
            j = (i + 1) % len(spans_a)
        (s0, e0), (s1, e1) = sorted([spans_a[i], spans_a[j]])
        old = closed_files[a]
        files = {**closed_files, a: old[:s0] + old[s1:e1] + old[e0:s1] + old[s0:e0] + old[e1:]}
    else:
        (s0, e0), (s1, e1) = spans_a[i], spans_b[j]
        fa, fb = closed_files[a], closed_files[b]
        files = {**closed_files, a: fa[:s0] + fb[s1:e1] + fa[e0:],
                 b: fb[:s1] + fa[s0:e0] + fb[e1:]}
    check_detected(files, closed_files)


@_bounded(100)
@given(data=st.data())
def test_removing_or_duplicating_a_frame_detected(closed_files, data):
    name = data.draw(st.sampled_from([n for n in _names(closed_files, with_head=False)
                                      if frame_spans(closed_files[n])]))
    old = closed_files[name]
    s, e = data.draw(st.sampled_from(frame_spans(old)))
    new = old[:s] + old[e:] if data.draw(st.booleans()) else old[:e] + old[s:e] + old[e:]
    check_detected({**closed_files, name: new}, closed_files)


def _segment_file_changes(files):
    segs = _names(files, with_head=False)
    n = len(segs)
    out = []
    for k, name in enumerate(segs):
        out.append((f"delete {name}", {m: v for m, v in files.items() if m != name}))
        for new in (fmt.segment_name(n + 1), fmt.segment_name(n + 3), "x.seg",
                    name + ".bak", name[1:], "0" + name, name.upper()):
            out.append((f"rename {name} {new}",
                        {(new if m == name else m): v for m, v in files.items()}))
        other = segs[(k + 1) % n]
        out.append((f"swap {name} {other}",
                    {**files, name: files[other], other: files[name]}))
        if k:
            out.append((f"rename {name} onto {segs[k - 1]}",
                        {(segs[k - 1] if m == name else m): v
                         for m, v in files.items() if m != segs[k - 1]}))
    out.append(("delete HEAD", {m: v for m, v in files.items() if m != "HEAD"}))
    return out


def test_deleting_or_renaming_a_segment_detected(closed_files):
    changes = _segment_file_changes(closed_files)
    assert len(changes) > 50
    for what, files in changes:
        with Tampered(files) as d:
            assert spec.verify(d), what
            assert project_detects(d), what


# A few of each kind through the real `oms journal verify`.
CLI_CASES = ["flip", "truncate", "delete segment", "swap frames", "append"]


@pytest.mark.parametrize("case", CLI_CASES)
def test_cli_verify_detects(closed_journal, tmp_path, case):
    d = copy_writable(closed_journal, tmp_path / "j")
    segs = sorted(d.glob("*.seg"))
    second = segs[1]
    data = second.read_bytes()
    if case == "flip":
        b = bytearray(data)
        b[len(b) // 2] ^= 0x01
        second.write_bytes(bytes(b))
    elif case == "truncate":
        second.write_bytes(data[:-1])
    elif case == "delete segment":
        second.unlink()
    elif case == "swap frames":
        (s0, e0), (s1, e1) = frame_spans(data)[:2]
        second.write_bytes(data[:s0] + data[s1:e1] + data[s0:e0] + data[e1:])
    elif case == "append":
        segs[-1].write_bytes(segs[-1].read_bytes() + b"\x00")
    assert spec.verify(d)
    r = oms("journal", "verify", d)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.startswith(f"oms: journal {d}")


# ------------------------------------------------------------------ the limits

def test_open_journal_cut_at_a_frame_boundary_reads_as_intact_but_open(open_files, tmp_path):
    """The one change no verifier can see: an open journal's last segment cut
    exactly after a frame is what a crash before the later records leaves.
    (A journal that matters is closed, or its chain head kept elsewhere.)"""
    last = _names(open_files, with_head=False)[-1]
    spans = frame_spans(open_files[last])
    assert len(spans) >= 2 and spans[-1][1] == len(open_files[last])   # unsealed
    for keep in range(len(spans)):
        cut = spans[keep][0]                         # drop frames keep.. of the segment
        files = {**open_files, last: open_files[last][:cut]}
        with Tampered(files) as d:
            info = spec.inspect(d)
            assert info["problems"] == []            # intact...
            assert info["closed"] is False           # ...but open
            assert json.loads(files["HEAD"])["closed"] is False
            found = scan(d, allow_torn_tail=False)
            assert found.torn_bytes == 0 and not found.closed
            assert found.records == info["records"] < len(PAYLOADS)
            assert spec.records(d) == PAYLOADS[:info["records"]]
    with Tampered({**open_files, last: open_files[last][:spans[-1][0]]}) as d:
        r = oms("journal", "verify", d)
        assert r.returncode == 0 and "open" in r.stdout


def test_closed_journal_cut_at_a_frame_boundary_detected(closed_files):
    last = _names(closed_files, with_head=False)[-1]
    for s, _ in frame_spans(closed_files[last]):
        check_detected({**closed_files, last: closed_files[last][:s]}, closed_files)


@pytest.mark.parametrize("tail", ["cut frame", "zeros", "crc", "zeroed frame"])
def test_open_journal_torn_tail_reported_by_both(open_files, tail):
    """A cut inside the last frame (or zeros after it) is a torn tail: reported,
    not silently accepted."""
    last = _names(open_files, with_head=False)[-1]
    data = open_files[last]
    s, e = frame_spans(data)[-1]
    new = {"cut frame": data[:e - 5], "zeros": data + bytes(50),
           "crc": data[:e - 33] + bytes([data[e - 33] ^ 1]) + data[e - 32:],
           "zeroed frame": data[:s] + bytes(e - s + 20)}[tail]
    with Tampered({**open_files, last: new}) as d:
        info = spec.inspect(d)
        assert info["only_torn_tail"], info["problems"]
        assert "torn tail" in info["problems"][0]
        assert spec.records(d) == PAYLOADS[:info["records"]]
        found = scan(d)                              # the project reports it too
        assert found.torn_bytes == len(new) - found.segments[-1].end > 0
        with pytest.raises(JournalError, match="torn tail"):
            scan(d, allow_torn_tail=False)


# ------------------------------------------------------------------ known gaps

HEAD_GAP_CASES = {
    "space to tab": lambda h: h.replace(b": ", b":\t", 1),
    "space deleted": lambda h: h.replace(b", ", b",", 1),
    "final newline dropped (truncation)": lambda h: h[:-1],
    "final newline to space (flip)": lambda h: h[:-1] + b" ",
    "white space appended": lambda h: h + b"\n",
    "records 40 -> 40.0 (insertion)": lambda h: h.replace(b', "chain_head"',
                                                          b'.0, "chain_head"', 1),
    "closed key deleted (range deletion)": lambda h: h[:h.index(b', "closed"')] + b"}\n",
}


@pytest.mark.parametrize("case", sorted(HEAD_GAP_CASES))
def test_head_changes_seen_by_the_spec_verifier(closed_files, case):
    new = HEAD_GAP_CASES[case](closed_files["HEAD"])
    assert new != closed_files["HEAD"]
    with Tampered({**closed_files, "HEAD": new}) as d:
        assert spec.verify(d)


@pytest.mark.parametrize("case", sorted(HEAD_GAP_CASES))
def test_head_reread_byte_for_byte(closed_files, case):
    new = HEAD_GAP_CASES[case](closed_files["HEAD"])
    with Tampered({**closed_files, "HEAD": new}) as d:
        assert project_detects(d)
