"""An independent verifier of the journal format, written from docs/JOURNAL.md alone.

Nothing here imports or was written from the project's own reader or writer
(``reporting/``, ``oms/``): it is the proof that the document is enough to read
and verify a journal. It uses the standard library only (and ``msgspec``, a
public MessagePack library, to decode payloads in :func:`payload_problems`).

* :func:`verify` -> the list of problems (empty when the journal is intact),
  checking the five points of "Verifying" in the document: HEAD, the file
  names, every header, every frame's length, CRC-32 and chain hash, every seal
  (place, CRC-32, record count, chain head, RFC 6962 Merkle root), and a
  closed HEAD's ``records`` and ``chain_head``. A torn tail is reported as a
  problem too (its message says "torn tail").
* :func:`records` -> the payloads of the good records, in order.
* :func:`inspect` -> both, and what HEAD says (closed or not) and whether the
  only problem is a torn tail.
* :func:`payload_problems` -> checks of the "Payloads" section (MessagePack
  arrays, record kinds, VENUE first, EVENTS or VOID after each COMMAND,
  event ``seq`` without gaps). Not part of :func:`verify`: the document's
  "Verifying" does not include them, and a journal may hold any payloads.

Where the document left a choice open, the choice made here is marked
``DOC:`` in a comment. Two later additions follow sentences added to the
document afterwards: HEAD compared byte for byte, and the VOID record.
"""
from __future__ import annotations

import hashlib
import json
import re
import struct
import zlib
from pathlib import Path

SEG_MAGIC = b"OMSJSEG1"
SEAL_MAGIC = b"OMSJSEAL"
HEADER_SIZE = 64
FRAME_OVERHEAD = 8 + 32           # length, CRC-32, ..., chain hash
SEAL_SIZE = 84
MAX_PAYLOAD = 1 << 26
ZERO32 = bytes(32)
FORMAT = "oms-journal 1"
SEG_NAME = re.compile(r"^([0-9]{12})\.seg$")

assert zlib.crc32(b"123456789") == 0xCBF43926          # the document's check value
assert struct.unpack("<I", b"OMSJ")[0] == 0x4A534D4F > MAX_PAYLOAD


def chain_next(prev: bytes, n: int, payload: bytes) -> bytes:
    """chain(n) = SHA-256(chain(n - 1) || u64(n) || payload(n))."""
    return hashlib.sha256(prev + struct.pack("<Q", n) + payload).digest()


def merkle_root(payloads: list[bytes]) -> bytes:
    """RFC 6962 section 2.1 Merkle Tree Hash with SHA-256."""
    n = len(payloads)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + payloads[0]).digest()
    k = 1
    while k * 2 < n:              # the largest power of two smaller than n
        k *= 2
    return hashlib.sha256(b"\x01" + merkle_root(payloads[:k])
                          + merkle_root(payloads[k:])).digest()


class _Result:
    def __init__(self):
        self.problems: list[str] = []
        self.torn: list[str] = []          # the subset of problems that are torn tails
        self.payloads: list[bytes] = []
        self.head: dict | None = None

    def bad(self, msg: str) -> None:
        self.problems.append(msg)


def _reject_constant(name):
    raise ValueError(f"JSON constant {name} not allowed")


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate keys in {keys}")
    return dict(pairs)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _read_head(d: Path, res: _Result) -> dict | None:
    path = d / "HEAD"
    try:
        raw = path.read_bytes()
    except OSError as e:
        res.bad(f"HEAD: cannot read ({e.__class__.__name__})")
        return None
    # DOC: "a one-line JSON object": the document did not say whether a
    # final newline follows, nor what white space is allowed (see below).
    text_bytes = raw[:-1] if raw.endswith(b"\n") else raw
    if b"\n" in text_bytes or b"\r" in text_bytes:
        res.bad("HEAD: not one line")
        return None
    try:
        text = text_bytes.decode("utf-8")
        head = json.loads(text, object_pairs_hook=_no_duplicates,
                          parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as e:
        res.bad(f"HEAD: not a UTF-8 JSON object ({e})")
        return None
    if not isinstance(head, dict):
        res.bad("HEAD: not a JSON object")
        return None
    ok = True
    if head.get("format") != FORMAT:
        res.bad(f"HEAD: format is {head.get('format')!r}, not {FORMAT!r}")
        ok = False
    seg = head.get("segment")
    if not _is_int(seg) or seg < 1:
        res.bad(f"HEAD: segment is {seg!r}, not a number >= 1")
        ok = False
    closed = head.get("closed")
    if not isinstance(closed, bool):
        res.bad(f"HEAD: closed is {closed!r}, not true or false")
        ok = False
    # DOC: the document lists the keys; other keys are taken as not allowed,
    # and "records"/"chain_head" as present exactly when closed is true.
    expected = {"format", "segment", "closed"}
    if closed is True:
        expected |= {"records", "chain_head"}
        r = head.get("records")
        if not _is_int(r) or r < 0:
            res.bad(f"HEAD: records is {r!r}, not a number")
            ok = False
        ch = head.get("chain_head")
        if not isinstance(ch, str) or not re.fullmatch(r"[0-9a-f]{64}", ch):
            res.bad(f"HEAD: chain_head is {ch!r}, not 64 lower-case hex digits")
            ok = False
    if set(head) != expected:
        res.bad(f"HEAD: keys are {sorted(head)}, expected {sorted(expected)}")
        ok = False
    if ok:
        # DOC: added to the document with this file (it said only "a
        # one-line JSON object", so white space could change unnoticed):
        # HEAD's bytes follow from its values.
        canonical = (f'{{"format": "{FORMAT}", "segment": {seg}, '
                     f'"closed": {"true" if closed else "false"}')
        if closed:
            canonical += f', "records": {head["records"]}, "chain_head": "{head["chain_head"]}"'
        canonical += "}\n"
        if raw != canonical.encode("utf-8"):
            res.bad("HEAD: not byte for byte the text its values give "
                    f"(expected {canonical!r}, found {raw!r})")
            ok = False
    return head if ok else None


def _segment_files(d: Path, head: dict | None,
                   res: _Result) -> tuple[int, list[tuple[int, Path]]]:
    found: dict[int, Path] = {}
    for p in d.iterdir():
        if not p.name.endswith(".seg"):
            continue                      # "Other files are not part of the journal"
        m = SEG_NAME.match(p.name)
        if not m:
            res.bad(f"{p.name}: a .seg file whose name is not 12 digits + .seg")
            continue
        num = int(m.group(1))
        if num == 0:
            res.bad(f"{p.name}: segment number 0 (numbered from 1)")
            continue
        if not p.is_file():
            res.bad(f"{p.name}: not a regular file")
            continue
        found[num] = p
    last = head["segment"] if head is not None else (max(found) if found else 0)
    for num in range(1, last + 1):
        if num not in found:
            res.bad(f"segment {num:012d}.seg is missing (HEAD says {last} segments)")
    for num in sorted(found):
        if num > last:
            res.bad(f"{found[num].name}: segment beyond HEAD's last segment {last}")
    # Read what there is, in order, stopping at the first gap (the chain
    # cannot be followed past it).
    out = []
    for num in range(1, last + 1):
        if num not in found:
            break
        out.append((num, found[num]))
    return last, out


def _torn_or_bad(res: _Result, can_be_torn: bool, name: str, pos: int,
                 size: int, what: str, tail_is_zero: bool) -> None:
    """A defect of the frame at ``pos``: a torn tail if allowed there, else an error."""
    if can_be_torn and tail_is_zero:
        msg = (f"{name}: torn tail at offset {pos}: {what}; "
               f"{size - pos} bytes after the last good record")
        res.torn.append(msg)
        res.bad(msg)
    else:
        res.bad(f"{name}: offset {pos}: {what}")


def _scan_segment(num: int, path: Path, is_last: bool, head: dict | None,
                  first_record: int, chain: bytes, res: _Result):
    """Check one segment; returns (records in it, chain after it, sealed, ok)."""
    name = path.name
    data = path.read_bytes()
    size = len(data)
    if size < HEADER_SIZE:
        # DOC: the document does not say whether a crash can leave a segment
        # with a partial header (e.g. a new last segment); taken as an error.
        res.bad(f"{name}: {size} bytes, shorter than the 64-byte header")
        return 0, chain, False, False
    magic, version, reserved, seg_no, first, before = struct.unpack_from(
        "<8sIIQQ32s", data, 0)
    hdr_ok = True
    if magic != SEG_MAGIC:
        res.bad(f"{name}: header magic {magic!r}")
        hdr_ok = False
    if version != 1:
        res.bad(f"{name}: header version {version}")
        hdr_ok = False
    if reserved != 0:
        res.bad(f"{name}: header reserved field {reserved}")
        hdr_ok = False
    if seg_no != num:
        res.bad(f"{name}: header says segment {seg_no}")
        hdr_ok = False
    if first != first_record:
        res.bad(f"{name}: header says first record {first}, expected {first_record}")
        hdr_ok = False
    if before != chain:
        res.bad(f"{name}: header's chain head before the segment does not match "
                "the previous segments")
        hdr_ok = False

    # A torn tail only in the last segment of a journal HEAD does not call closed.
    can_be_torn = is_last and head is not None and head.get("closed") is False
    payloads: list[bytes] = []
    n = first_record
    pos = HEADER_SIZE
    ok = hdr_ok
    sealed = False
    while pos < size:
        rest = size - pos
        if rest >= 4 and data[pos:pos + 4] == SEAL_MAGIC[:4]:
            # A seal: exactly the last 84 bytes of the file.
            if rest < SEAL_SIZE:
                # DOC: a seal cut short (a crash while sealing) is not covered
                # by the document's torn tail ("the last frame ... cut
                # short"); reported here as a problem, as a torn tail where a
                # torn tail could be.
                _torn_or_bad(res, can_be_torn, name, pos, size,
                             f"a seal cut short ({rest} of 84 bytes)", True)
                ok = False
                break
            if rest > SEAL_SIZE:
                res.bad(f"{name}: offset {pos}: a seal that is not the last 84 "
                        f"bytes of the file ({rest - SEAL_SIZE} bytes follow it)")
                ok = False
                break
            s_magic, s_count, s_chain, s_root, s_crc = struct.unpack_from(
                "<8sQ32s32sI", data, pos)
            if s_magic != SEAL_MAGIC:
                res.bad(f"{name}: seal magic {s_magic!r}")
                ok = False
            if zlib.crc32(data[pos:pos + 80]) != s_crc:
                res.bad(f"{name}: seal CRC-32 wrong")
                ok = False
            if s_count != len(payloads):
                res.bad(f"{name}: seal says {s_count} records, the segment has "
                        f"{len(payloads)}")
                ok = False
            if s_chain != chain:
                res.bad(f"{name}: seal's chain head does not match the records")
                ok = False
            if s_root != merkle_root(payloads):
                res.bad(f"{name}: seal's Merkle root does not match the payloads")
                ok = False
            sealed = True
            pos = size
            break
        # A frame.
        if rest < 8:
            _torn_or_bad(res, can_be_torn, name, pos, size,
                         f"a frame cut short ({rest} bytes, no full frame header)", True)
            ok = False
            break
        length, crc = struct.unpack_from("<II", data, pos)
        if length > MAX_PAYLOAD:
            # DOC: a bad length is not one of the torn-tail cases the document
            # lists (a crash leaves a prefix of a frame, whose length is good).
            res.bad(f"{name}: offset {pos}: payload length {length} > 2^26")
            ok = False
            break
        end = pos + 8 + length + 32
        if end > size:
            _torn_or_bad(res, can_be_torn, name, pos, size,
                         f"a frame cut short (needs {end - pos} bytes, {rest} left)", True)
            ok = False
            break
        payload = data[pos + 8:pos + 8 + length]
        stored = data[pos + 8 + length:end]
        after_zero = not any(data[end:])
        expect = chain_next(chain, n, payload)
        if zlib.crc32(payload) != crc:
            _torn_or_bad(res, can_be_torn, name, pos, size,
                         f"record {n}: CRC-32 of the payload wrong", after_zero)
            ok = False
            break
        if stored != expect:
            _torn_or_bad(res, can_be_torn, name, pos, size,
                         f"record {n}: chain hash wrong", after_zero)
            ok = False
            break
        payloads.append(payload)
        res.payloads.append(payload)
        chain = expect
        n += 1
        pos = end
    if not sealed and not is_last:
        res.bad(f"{name}: not sealed, and it is not the last segment")
        ok = False
    return len(payloads), chain, sealed, ok


def _scan(directory) -> _Result:
    d = Path(directory)
    res = _Result()
    if not d.is_dir():
        res.bad(f"{d}: not a directory")
        return res
    head = _read_head(d, res)
    res.head = head
    last, segs = _segment_files(d, head, res)
    chain = ZERO32
    count = 0
    all_ok = True
    last_sealed = None           # None: the last segment was not scanned
    for num, path in segs:
        is_last = num == last
        got, chain, sealed, ok = _scan_segment(num, path, is_last, head, count,
                                               chain, res)
        count += got
        all_ok &= ok
        if is_last:
            last_sealed = sealed
        if not ok:
            break         # the chain cannot be followed past a bad segment
    if head is not None and head["closed"] is True:
        if last_sealed is False:
            res.bad("HEAD says closed but the last segment is not sealed")
        if all_ok and len(segs) == last:
            if head["records"] != count:
                res.bad(f"HEAD says {head['records']} records, the journal has {count}")
            if head["chain_head"] != chain.hex():
                res.bad("HEAD's chain_head does not match the journal's chain head")
    res.count = count
    res.chain_head = chain
    return res


def verify(directory) -> list[str]:
    """The journal's problems, as messages; empty when it is intact."""
    return _scan(directory).problems


def records(directory) -> list[bytes]:
    """The payloads of the journal's good records, in order."""
    return _scan(directory).payloads


def inspect(directory) -> dict:
    """Everything the scan found: problems, payloads, HEAD, torn tail."""
    r = _scan(directory)
    return {
        "problems": r.problems,
        "payloads": r.payloads,
        "head": r.head,
        "closed": None if r.head is None else r.head["closed"],
        "only_torn_tail": bool(r.torn) and r.torn == r.problems,
        "records": getattr(r, "count", 0),
        "chain_head": getattr(r, "chain_head", ZERO32).hex(),
    }


# --- the "Payloads" section -------------------------------------------------

_EVENT_KINDS = set(range(1, 10)) | {101, 102, 103, 104}


def payload_problems(payloads: list[bytes]) -> list[str]:
    """Checks of the document's "Payloads" section (not part of "Verifying")."""
    import msgspec

    out: list[str] = []
    values = []
    for i, p in enumerate(payloads):
        try:
            values.append(msgspec.msgpack.decode(p))
        except msgspec.DecodeError as e:
            out.append(f"record {i}: not one MessagePack value ({e})")
            values.append(None)
    seq = 0
    for i, v in enumerate(values):
        if v is None:
            continue
        if not isinstance(v, list) or not v or not _is_int(v[0]):
            out.append(f"record {i}: not an array starting with a kind")
            continue
        kind = v[0]
        if (kind == 1) != (i == 0):
            out.append(f"record {i}: kind {kind}; VENUE is record 0 and only record 0")
        if kind == 1:
            if len(v) != 4:
                out.append(f"record {i}: VENUE has {len(v)} elements, not 4")
            elif v[1] is None:
                if not isinstance(v[3], str):
                    out.append(f"record {i}: open-ended VENUE's tick is not a string")
            elif not isinstance(v[1], str):
                out.append(f"record {i}: VENUE's config is not text or nil")
        elif kind == 4:
            if (len(v) != 3 or not isinstance(v[1], list) or not isinstance(v[2], list)
                    or not all(isinstance(s, str) for s in v[1] + v[2])):
                out.append(f"record {i}: NAMES is not [4, [symbols], [accounts]]")
        elif kind == 2:
            if len(v) != 2:
                out.append(f"record {i}: COMMAND has {len(v)} elements, not 2")
                continue
            c = v[1]
            if isinstance(c, list):
                if not c or c[0] not in (1, 2, 3, 4, 5):
                    out.append(f"record {i}: engine command kind {c[:1]!r}")
                elif c[0] == 1 and len(c) != 13:
                    out.append(f"record {i}: NewOrder has {len(c) - 1} fields, not 12")
            elif isinstance(c, dict):
                if not isinstance(c.get("kind"), str) or "ts" not in c or "by" not in c:
                    out.append(f"record {i}: risk command without kind/ts/by")
            else:
                out.append(f"record {i}: command is neither an array nor a map")
        elif kind == 3:
            if len(v) != 3 or not _is_int(v[1]) or not isinstance(v[2], list):
                out.append(f"record {i}: EVENTS is not [3, n, [events]]")
                continue
            if v[1] != i - 1:
                out.append(f"record {i}: EVENTS names record {v[1]}, not the one before")
            elif not (isinstance(values[i - 1], list) and values[i - 1][:1] == [2]):
                out.append(f"record {i}: EVENTS does not follow a COMMAND")
            cmd = values[i - 1][1] if (v[1] == i - 1 and isinstance(values[i - 1], list)
                                       and len(values[i - 1]) == 2) else None
            for e in v[2]:
                if (not isinstance(e, list) or len(e) < 3
                        or not all(_is_int(x) for x in e[:3])):
                    out.append(f"record {i}: event {e!r} is not [kind, seq, ts, ...]")
                    continue
                if e[0] not in _EVENT_KINDS:
                    out.append(f"record {i}: event kind {e[0]}")
                seq += 1
                if e[1] != seq:
                    out.append(f"record {i}: event seq {e[1]}, expected {seq}")
                    seq = e[1]
                # DOC: "ts is the command's time": checked for map commands
                # only; for array commands the document gives the position of
                # ts for NewOrder only (its last field).
                if isinstance(cmd, dict) and e[2] != cmd.get("ts"):
                    out.append(f"record {i}: event ts {e[2]} != command ts {cmd.get('ts')}")
                if isinstance(cmd, list) and cmd[:1] == [1] and len(cmd) == 13 \
                        and e[2] != cmd[12]:
                    out.append(f"record {i}: event ts {e[2]} != NewOrder ts {cmd[12]}")
        elif kind == 5:
            # VOID (added to the document after this file was first written)
            if len(v) != 2 or v[1] != i - 1:
                out.append(f"record {i}: VOID is not [5, number of the record before]")
            elif not (isinstance(values[i - 1], list) and values[i - 1][:1] == [2]):
                out.append(f"record {i}: VOID does not follow a COMMAND")
        else:
            out.append(f"record {i}: unknown record kind {kind}")
        if kind == 2 and i + 1 < len(values):
            nxt = values[i + 1]
            if not (isinstance(nxt, list) and nxt[:1] in ([3], [5])):
                out.append(f"record {i}: a COMMAND followed by neither its EVENTS nor a VOID")
    return out


if __name__ == "__main__":           # python tests/journal_spec_verifier.py DIR
    import sys

    info = inspect(sys.argv[1])
    for p in info["problems"]:
        print(p)
    print(f"{info['records']} records, chain head {info['chain_head']}, "
          f"closed={info['closed']}: {'intact' if not info['problems'] else 'NOT intact'}")
    sys.exit(1 if info["problems"] else 0)
