"""FIX tag=value bytes in and out: framing, decoding, encoding.

The codec knows the wire format and nothing of sessions or orders. It checks
what makes bytes a message (BeginString, BodyLength, CheckSum, tag=value
syntax) and nothing more: which tags a message needs, their types and
enumerations belong to the layers above.

Speed comes from leaving Python a constant number of steps per message, not
per byte: two small kernels scan the bytes (framing; syntax, BodyLength and
CheckSum), and bytes methods running in C (split, replace, join, %) make the
field objects. A message the decoding kernel does not vouch for takes a plain
loop that says what is wrong with it. simplefix, the reference the tests
compare against, parses byte by byte in Python and verifies neither
BodyLength nor CheckSum; `benchmarks/bench_fix_codec.py` times both.

Not supported: data fields (RawData 96, Signature 89, ...) whose value
contains SOH. Their value is read up to the first SOH like any other, so the
message is garbled or misread. Order flow does not use them.
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from zlib import adler32

from engine.jit import kernel
from engine.matching import entry_point
from engine.prices import Tick, format_ticks

__all__ = ["SOH", "MAX_BODY_LENGTH", "GarbledMessage", "OversizeMessage", "frame_end",
           "encode_body", "body_fields", "seal", "resync", "FixMessage", "decode", "encode", "Template", "utc_timestamp", "parse_utc_timestamp",
           "parse_decimal", "format_decimal"]

SOH = b"\x01"
MAX_BODY_LENGTH = 65536
"""The largest BodyLength `frame_end` waits for: an order gateway receives
nothing near it, and a peer's bad length must not make us buffer megabytes."""

_EQUALS = b"="
_LONGEST_BEGIN_STRING = 16        # "FIXT.1.1" has 8
_LONGEST_LENGTH = 9               # digits of BodyLength
_TRAILER = 7                      # len(b"10=ddd\x01")
_CHECKSUM_FIELDS = tuple(b"10=%03d\x01" % n for n in range(256))
# Tags as they appear on the wire, to their numbers: a dict lookup is half the
# cost of int(). The decoding kernel lets only tags found here through.
_TAG_NUMBERS = {b"%d" % tag: tag for tag in range(10000)}


class GarbledMessage(ValueError):
    """The bytes are not a FIX message (framing, BodyLength, CheckSum): a session ignores it."""


class OversizeMessage(GarbledMessage):
    """A BodyLength over the limit: a gateway drops such a connection rather
    than read on (the bytes could be anything, and there could be many)."""


# -- framing ------------------------------------------------------------------

_NEED_MORE = -1
_OUTSIDE = -8
_FRAMING_FAULTS = {
    -2: "no BeginString (8=) at offset {start}",
    -3: "the BeginString at offset {start} is empty or not followed by SOH",
    -4: "no BodyLength (9=) after the BeginString at offset {start}",
    -5: "the BodyLength of the message at offset {start} is not a number",
    -6: "the BodyLength of the message at offset {start} is over the limit",
}


def frame_end(buf: bytes | bytearray, start: int = 0,
              max_body_length: int = MAX_BODY_LENGTH) -> int:
    """Offset just past the complete message that begins at `start` in a
    receive buffer, or -1 if more bytes are needed.

    The end comes from BodyLength: normally the body ends with SOH and is
    followed by "10=", three digits and SOH. If it is not, BodyLength was
    wrong, and the message runs to the end of the first SOH "10=" field from
    there, as QuickFIX frames it: a length too long swallows the next message
    and both are ignored (FIX session test 2m). `decode` refuses such a
    message. Raises GarbledMessage as soon as the bytes at `start` cannot
    begin a message ("8=" value SOH "9=" digits SOH, a body of at most
    `max_body_length`); the caller then skips to `resync(buf, start)`.
    O(length of the header) when BodyLength is right: it gives the end
    without reading the body.

    >>> msg = encode(b"FIX.4.4", b"0", [(49, b"A"), (56, b"B")])
    >>> frame_end(msg + msg[:10]), frame_end(msg[:-1]), frame_end(msg + msg, len(msg))
    (37, -1, 74)
    """
    end = _FRAME_END.get(type(buf), _frame_end_kernel)(buf, start, max_body_length)
    if end >= _NEED_MORE:
        return end
    if end == _OUTSIDE:
        raise IndexError(f"offset {start} is outside the buffer of {len(buf)} bytes")
    if end == -6:
        raise OversizeMessage(_FRAMING_FAULTS[end].format(start=start))
    raise GarbledMessage(_FRAMING_FAULTS[end].format(start=start))


@kernel
def _frame_end_kernel(buf, start, max_body_length):
    """`frame_end` as a code: the end, -1 for more bytes, or a key of
    _FRAMING_FAULTS. Partial input is judged on what has arrived."""
    size = len(buf)
    if start < 0 or start > size:
        return -8
    if size - start < 2:
        if size == start or buf[start] == 56:                  # "8"
            return -1
        return -2
    if buf[start] != 56 or buf[start + 1] != 61:               # "8="
        return -2
    i = start + 2
    limit = min(size, i + _LONGEST_BEGIN_STRING + 1)
    while i < limit and buf[i] != 1:
        i += 1
    if i == limit:
        return -1 if limit == size and size < start + 3 + _LONGEST_BEGIN_STRING else -3
    if i == start + 2:
        return -3
    i += 1                                                     # at "9="
    if size - i < 2:
        return -1 if size == i or buf[i] == 57 else -4
    if buf[i] != 57 or buf[i + 1] != 61:
        return -4
    i += 2
    digits_start = i
    body_length = 0
    while i < size and buf[i] != 1:
        c = buf[i]
        if c < 48 or c > 57 or i - digits_start == _LONGEST_LENGTH:
            return -5
        body_length = body_length * 10 + c - 48
        i += 1
    if i == size:
        return -1
    if i == digits_start:
        return -5
    if body_length > max_body_length:
        return -6
    end = i + 1 + body_length
    if size < end + _TRAILER:
        return -1
    if buf[end - 1] == 1 and buf[end] == 49 and buf[end + 1] == 48 and buf[end + 2] == 61 \
            and 48 <= buf[end + 3] <= 57 and 48 <= buf[end + 4] <= 57 \
            and 48 <= buf[end + 5] <= 57 and buf[end + 6] == 1:  # SOH "10=" ddd SOH
        return end + _TRAILER
    # A wrong BodyLength: the message runs to the end of the first SOH "10="
    # field from where the body should have ended.
    i = end - 1
    while i + 3 < size:
        if buf[i] == 1 and buf[i + 1] == 49 and buf[i + 2] == 48 and buf[i + 3] == 61:
            i += 4
            while i < size and buf[i] != 1:
                i += 1
            return i + 1 if i < size else -1
        i += 1
    return -1


# compiled now for the two buffers a gateway holds; others (memoryview) go
# through numba's dispatcher, which costs about 150 ns more
_FRAME_END = {type(b): entry_point(_frame_end_kernel, b, 0, MAX_BODY_LENGTH)
              for b in (b"", bytearray())}


def resync(buf: bytes | bytearray, start: int) -> int:
    """Offset of the next possible message start (an "8=", anywhere, as
    QuickFIX looks for it) after `start`, or -1 if none yet: where to look
    after GarbledMessage. A false start ("58=" in garbage) fails `frame_end`
    in turn and is skipped the same way.

    >>> resync(b"8=FIX.4.4\\x019=oops\\x018=FIX.4.4\\x01", 0)
    17
    """
    return buf.find(b"8=", start + 1)


# -- decoding -----------------------------------------------------------------

class FixMessage:
    """A decoded message. `fields` is every (tag, value) pair in wire order
    including 8, 9, 35 and 10; tag is int, value is bytes (unchanged, may be
    empty b""). `msg_type` is the value of 35, b"" if absent.

    `get` and `in` build a dict of first occurrences on first use (O(fields)
    once, then O(1)); `count` scans the fields, for repeating groups.
    """
    __slots__ = ("raw", "fields", "msg_type", "_index")

    def __init__(self, raw: bytes, fields: list[tuple[int, bytes]], msg_type: bytes = b""):
        self.raw = raw
        self.fields = fields
        self.msg_type = msg_type
        self._index = None

    def get(self, tag: int, default=None) -> bytes | None:
        """The value of the first `tag`, else `default`."""
        index = self._index
        if index is None:
            index = self._index = dict(reversed(self.fields))
        return index.get(tag, default)

    def __contains__(self, tag) -> bool:
        return self.get(tag) is not None

    def count(self, tag) -> int:
        """How many times `tag` occurs (the entries of a repeating group). O(fields)."""
        return sum(1 for t, _ in self.fields if t == tag)

    def __repr__(self) -> str:
        return f"FixMessage({self.raw.replace(SOH, b'|')!r})"


def decode(raw: bytes, check: bool = True) -> FixMessage:
    """The fields of one whole message (as `frame_end` delimits it).

    With `check`, BodyLength must count the bytes after the SOH ending 9= up
    to and including the SOH before 10=, and CheckSum must be the sum of the
    bytes before "10=" modulo 256, written as three digits. Any field without
    "=" or with a tag that is not a number raises GarbledMessage, with or
    without `check`. A tag that is a number but not a valid one ("0", "007",
    "-1") is read as int() reads it: the session rejects it by number (FIX
    session test 14a).

    O(length). A kernel checks the whole message in one pass; then splitting
    at "=" and SOH gives tag, value, tag, value... and a dict lookup per tag
    gives its number, all in C. What the kernel does not vouch for (values
    holding "=", tags over 9999 or with leading zeros, anything wrong) takes
    a plain loop that says what is wrong.

    >>> msg = decode(b"8=FIX.4.4\\x019=5\\x0135=0\\x0110=163\\x01")
    >>> msg.msg_type, msg.fields[1], msg.get(10)
    (b'0', (9, b'5'), b'163')
    """
    if type(raw) is not bytes:
        raw = bytes(raw)
    if _simple_message(raw, check):
        flat = raw.replace(SOH, _EQUALS).split(_EQUALS)
        flat.pop()                # empty: raw ends with SOH
        pairs = iter(flat)
        fields = list(zip(map(_TAG_NUMBERS.__getitem__, pairs), pairs))
    else:
        fields = _fields_slowly(raw)
        if check:
            _verify_frame(raw, fields)
    if len(fields) > 2 and fields[2][0] == 35:
        msg_type = fields[2][1]
    else:
        msg_type = next((value for tag, value in fields if tag == 35), b"")
    return FixMessage(raw, fields, msg_type)


@kernel
def _simple_message_kernel(raw, check):
    """True if every field of `raw` is tag=value SOH with a tag of 1 to 4
    digits and no leading zero and a value without "=", and, with `check`,
    8, 9 and 10 frame it and BodyLength and CheckSum are right. False says
    nothing more: the slow path finds out."""
    size = len(raw)
    i = 0
    fields = 0
    total = 0                     # the sum of the bytes of the fields so far
    sum_before_last = 0
    last_start = 0
    last_tag = -1
    body_start = -1
    body_length = -1
    while i < size:
        start = i
        tag = 0
        while i < size and raw[i] != 61:                       # "="
            c = raw[i]
            if c < 48 or c > 57 or i - start == 4:
                return False
            tag = tag * 10 + c - 48
            i += 1
        if i == start or i == size or (raw[start] == 48 and i - start > 1):
            return False
        i += 1
        value_start = i
        while i < size and raw[i] != 1:
            if raw[i] == 61:
                return False
            i += 1
        if i == size:
            return False
        if check and fields < 2:
            if tag != 8 + fields or i == value_start:
                return False
            if fields == 1:                                    # BodyLength
                if i - value_start > _LONGEST_LENGTH:
                    return False
                body_length = 0
                for j in range(value_start, i):
                    if raw[j] < 48 or raw[j] > 57:
                        return False
                    body_length = body_length * 10 + raw[j] - 48
                body_start = i + 1
        sum_before_last = total
        for j in range(start, i + 1):
            total += raw[j]
        last_start = start
        last_tag = tag
        fields += 1
        i += 1
    if fields == 0:
        return False
    if not check:
        return True
    if last_tag != 10 or size - last_start != _TRAILER or body_start + body_length != last_start:
        return False
    checksum = 0
    for j in range(last_start + 3, last_start + 6):
        if raw[j] < 48 or raw[j] > 57:
            return False
        checksum = checksum * 10 + raw[j] - 48
    return sum_before_last % 256 == checksum


_simple_message = entry_point(_simple_message_kernel, b"8=\x01", True)


def _fields_slowly(raw: bytes) -> list[tuple[int, bytes]]:
    """`decode`'s fields one by one, for what the fast path does not take:
    values holding "=", unusual tags, and garbage (named in the error)."""
    pieces = raw.split(SOH)
    if pieces.pop() or not pieces:
        raise GarbledMessage("a message is fields each ending with SOH")
    fields = []
    for number, piece in enumerate(pieces, 1):
        tag, equals, value = piece.partition(_EQUALS)
        if not (equals and (tag.isdigit() or tag[:1] == b"-" and tag[1:].isdigit())):
            raise GarbledMessage(f"field {number} ({piece[:30]!r}) is not tag=value")
        try:
            fields.append((int(tag), value))
        except ValueError:        # more digits than int() takes
            raise GarbledMessage(f"field {number} has a tag of {len(tag)} digits") from None
    return fields


def _verify_frame(raw: bytes, fields: list[tuple[int, bytes]]) -> None:
    """Raise GarbledMessage naming the fault unless 8, 9 and 10 frame the
    message and BodyLength and CheckSum are right (the slow path's check)."""
    if len(fields) < 3 or fields[0][0] != 8 or fields[1][0] != 9 or fields[-1][0] != 10:
        raise GarbledMessage("a message must start with 8= and 9= and end with 10=")
    begin_string, length = fields[0][1], fields[1][1]
    checksum = fields[-1][1]
    if not begin_string:
        raise GarbledMessage("empty BeginString")
    if not (length.isdigit() and len(length) <= _LONGEST_LENGTH):
        raise GarbledMessage(f"BodyLength {length[:20]!r} is not a number")
    if not (checksum.isdigit() and len(checksum) == 3):
        raise GarbledMessage(f"CheckSum {checksum[:20]!r} is not three digits")
    trailer = len(raw) - _TRAILER
    body = trailer - len(begin_string) - len(length) - 6
    if int(length) != body:
        raise GarbledMessage(f"BodyLength {int(length)} but the body has {body} bytes")
    total = _byte_sum(raw[:trailer]) & 0xFF
    if int(checksum) != total:
        raise GarbledMessage(f"CheckSum {checksum.decode()} but the bytes sum to {total:03d}")


# -- encoding -----------------------------------------------------------------

class _TagPrefixes(dict):
    """SOH tag "=" for each tag: read from the table below 10000, made for others."""

    def __missing__(self, tag):
        return b"\x01%d=" % tag


_TAG_PREFIXES = _TagPrefixes({tag: b"\x01%d=" % tag for tag in range(10000)})


def encode(begin_string: bytes, msg_type: bytes,
           fields: Iterable[tuple[int, bytes | str | int]]) -> bytes:
    """8=begin_string SOH 9=length SOH 35=msg_type SOH, the fields in the
    given order, then 10=checksum SOH.

    Values: bytes as they are, str encoded as ASCII, int written in decimal.
    The caller orders header and body fields and leaves out 8, 9, 35 and 10;
    tags are positive ints (not checked). A value holding SOH raises
    ValueError: it would garble the message. O(fields + length). For the hot
    messages, `Template` is about four times as fast.

    >>> encode(b"FIX.4.4", b"0", [(49, "A"), (34, 7)])
    b'8=FIX.4.4\\x019=15\\x0135=0\\x0149=A\\x0134=7\\x0110=156\\x01'
    """
    parts = [b"35=" + (msg_type if type(msg_type) is bytes else _as_bytes(msg_type, 35))]
    append = parts.append
    prefixes = _TAG_PREFIXES
    for tag, value in fields:
        if type(value) is not bytes:
            value = b"%d" % value if type(value) is int else _as_bytes(value, tag)
        append(prefixes[tag] + value)
    append(SOH)
    body = b"".join(parts)
    begin_string = _as_bytes(begin_string, 8)
    if body.count(SOH) != len(parts) - 1 or SOH in begin_string:
        raise ValueError(f"a value holds SOH: {body.replace(SOH, b'|')[:200]!r}")
    return _seal(b"8=" + begin_string + b"\x019=", body)


def encode_body(fields: Iterable[tuple[int, bytes]]) -> bytes:
    """Fields as they go on the wire ("tag=value" SOH each), to be kept and
    sent later inside a message (`seal`): the parts of a report that do not
    change from one report to the next are encoded once this way.

    >>> encode_body([(11, b"C1"), (38, b"100")]).replace(SOH, b"|")
    b'11=C1|38=100|'
    """
    return b"".join([b"%d=%b\x01" % (tag, value) for tag, value in fields])


def body_fields(body: bytes) -> list[tuple[int, bytes]]:
    """The (tag, value) pairs of `encode_body` bytes (tests and rare paths)."""
    return [(int(t), v) for t, _, v in (f.partition(b"=") for f in body.split(SOH)[:-1])]


def seal(begin_string: bytes, body: bytes) -> bytes:
    """The whole message around `body`, which runs from "35=" to its last SOH:
    BeginString and BodyLength in front, CheckSum behind. O(length).

    >>> seal(b"FIX.4.4", b"35=0\x0149=A\x0134=7\x01") == encode(b"FIX.4.4", b"0", [(49, "A"), (34, 7)])
    True
    """
    return _seal(b"8=" + begin_string + b"\x019=", body)


def _as_bytes(value, tag: int) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("ascii")
    if isinstance(value, int) and not isinstance(value, bool):
        return b"%d" % value
    raise TypeError(f"tag {tag}: a value is bytes, str or int, not {type(value).__name__}")


def _seal(head: bytes, body: bytes) -> bytes:
    """`head` (which ends with "9=") BodyLength SOH `body` CheckSum."""
    head = b"%b%d\x01" % (head, len(body))
    return b"".join((head, body, _CHECKSUM_FIELDS[(_byte_sum(head) + _byte_sum(body)) & 0xFF]))


def _byte_sum(data: bytes) -> int:
    """The sum of the bytes, for CheckSum.

    adler32's low half is 1 + the byte sum modulo 65521, which is the exact
    sum while it stays below 65521: always, for 256 bytes or fewer. One C
    call per 256 bytes is several times faster than sum(data).
    """
    if len(data) <= 256:
        return (adler32(data) & 0xFFFF) - 1
    total = 0
    for i in range(0, len(data), 256):
        total += (adler32(data[i:i + 256]) & 0xFFFF) - 1
    return total


class Template:
    """An outgoing message whose tags are fixed in advance: an ExecutionReport
    of one kind for one session, say.

    `layout` lists (tag, what) pairs in wire order after 35: `what` is bytes
    for a constant value, or the type `bytes` or `int` for a value given to
    `encode`, in the same order. The body is then one bytes formatting (one
    C call) instead of a step per field. The values are not checked: a bytes
    value must not hold SOH, an int is written with %d. One template per
    shape: a field that is sometimes absent needs a second template, or
    `encode`.

    >>> ack = Template(b"FIX.4.4", b"8", [(49, b"OMS"), (34, int), (11, bytes)])
    >>> ack.encode(7, b"c1") == encode(b"FIX.4.4", b"8", [(49, b"OMS"), (34, 7), (11, b"c1")])
    True
    """
    __slots__ = ("_head", "_body")

    def __init__(self, begin_string: bytes, msg_type: bytes,
                 layout: Iterable[tuple[int, bytes | type]]):
        pieces = [b"35=" + _as_bytes(msg_type, 35).replace(b"%", b"%%") + SOH]
        for tag, what in layout:
            if what is bytes:
                value = b"%b"
            elif what is int:
                value = b"%d"
            else:
                value = _as_bytes(what, tag).replace(b"%", b"%%")
            pieces.append(b"%d=%b\x01" % (tag, value))
        begin_string = _as_bytes(begin_string, 8)
        if any(SOH in piece[:-1] for piece in pieces) or SOH in begin_string:
            raise ValueError("a constant value holds SOH")
        self._head = b"8=" + begin_string + b"\x019="
        self._body = b"".join(pieces)

    def encode(self, *values: bytes | int) -> bytes:
        """The message with these values in the layout's variable fields. O(length)."""
        return _seal(self._head, self._body % values)


# -- timestamps ---------------------------------------------------------------

_MILLIS = tuple(b".%03d" % n for n in range(1000))
_FRACTION_SCALE = {3: 1_000_000, 6: 1_000, 9: 1}     # by the number of digits
_FRACTION_SIZES = frozenset(18 + digits for digits in _FRACTION_SCALE)
_EPOCH_DAY = date(1970, 1, 1).toordinal()


def utc_timestamp(ns: int, millis: bool = True) -> bytes:
    """FIX UTCTimestamp YYYYMMDD-HH:MM:SS.sss (or without .sss) of `ns`
    nanoseconds since the epoch, truncated, not rounded.

    Every outgoing message carries one or two, and they share their second,
    so the text of the second is cached.

    >>> utc_timestamp(1_340_280_000_123_456_789)
    b'20120621-12:00:00.123'
    >>> utc_timestamp(-1, millis=False)
    b'19691231-23:59:59'
    """
    seconds, rest = divmod(ns, 1_000_000_000)
    text = _second_text(seconds)
    return text + _MILLIS[rest // 1_000_000] if millis else text


@lru_cache(maxsize=8)
def _second_text(seconds: int) -> bytes:
    year, month, day, hour, minute, second = time.gmtime(seconds)[:6]
    if not 0 < year < 10000:
        raise ValueError(f"{seconds} s since the epoch is not in years 1 to 9999")
    return b"%04d%02d%02d-%02d:%02d:%02d" % (year, month, day, hour, minute, second)


def parse_utc_timestamp(value: bytes) -> int | None:
    """Nanoseconds since the epoch of a FIX UTCTimestamp, or None if `value`
    is not one (or is None): YYYYMMDD-HH:MM:SS, then nothing or "." and 3,
    6 or 9 digits.

    Month, day (in its month), hour, minute and second are range-checked.
    Second 60 is a leap second, as FIX allows; it reads as the first second
    of the next minute (the epoch count has no leap seconds).

    >>> parse_utc_timestamp(b"20120621-12:00:00.123456789")
    1340280000123456789
    >>> parse_utc_timestamp(b"20120231-12:00:00"), parse_utc_timestamp(b"20120621-12:00:00.12")
    (None, None)
    """
    if type(value) is not bytes:
        if value is None:         # an absent field: msg.get(52)
            return None
        value = bytes(value)
    size = len(value)
    if size != 17 and (size not in _FRACTION_SIZES or value[17:18] != b"."):
        return None
    seconds = _seconds_of(value[:17])
    if seconds is None:
        return None
    if size == 17:
        return seconds * 1_000_000_000
    fraction = value[18:]
    if not fraction.isdigit():
        return None
    return seconds * 1_000_000_000 + int(fraction) * _FRACTION_SCALE[size - 18]


@lru_cache(maxsize=64)
def _seconds_of(text: bytes) -> int | None:
    """Seconds since the epoch of YYYYMMDD-HH:MM:SS, None if it is not one.
    Cached: a burst of messages shares a handful of seconds."""
    if text[8:9] != b"-" or text[11:12] != b":" or text[14:15] != b":" \
            or not (text[:8] + text[9:11] + text[12:14] + text[15:]).isdigit():
        return None
    hour, minute, second = int(text[9:11]), int(text[12:14]), int(text[15:])
    if hour > 23 or minute > 59 or second > 60:
        return None
    try:
        day = date(int(text[:4]), int(text[4:6]), int(text[6:8])).toordinal() - _EPOCH_DAY
    except ValueError:            # no such day (or year 0)
        return None
    return ((day * 24 + hour) * 60 + minute) * 60 + second


# -- decimals -----------------------------------------------------------------

_LONGEST_DECIMAL = 64             # far beyond any int64 price or quantity
_UNIT_TICKS = tuple(Tick(1, digits) for digits in range(19))


def parse_decimal(value: bytes) -> tuple[int, int] | None:
    """(unscaled, digits) with value = unscaled / 10**digits, exactly; None
    if `value` is not a FIX decimal: an optional "-", digits, an optional
    "." and digits, at least one digit in all. No "+", exponent, space or
    underscore; nothing longer than 64 bytes.

    Prices against a tick grid go through `engine.prices.to_ticks`, which is
    stricter: it wants digits on both sides of a ".".

    >>> parse_decimal(b"10.25"), parse_decimal(b"100"), parse_decimal(b"-1.5")
    ((1025, 2), (100, 0), (-15, 1))
    >>> parse_decimal(b"1e5"), parse_decimal(b"+1"), parse_decimal(b"."), parse_decimal(b"")
    (None, None, None, None)
    """
    if len(value) > _LONGEST_DECIMAL:
        return None
    whole, _, fraction = value.partition(b".")
    digits = whole[1:] if whole[:1] == b"-" else whole
    if (digits and not digits.isdigit()) or (fraction and not fraction.isdigit()) \
            or not (digits or fraction):
        return None
    return int(whole + fraction), len(fraction)


def format_decimal(unscaled: int, digits: int) -> bytes:
    """unscaled / 10**digits written with exactly `digits` decimals, the
    inverse of `parse_decimal`, by `engine.prices.format_ticks` (the one
    formatting rule for prices).

    >>> format_decimal(1025, 2), format_decimal(-5, 3), format_decimal(100, 0)
    (b'10.25', b'-0.005', b'100')
    """
    tick = _UNIT_TICKS[digits] if 0 <= digits < len(_UNIT_TICKS) else Tick(1, digits)
    return format_ticks(unscaled, tick).encode("ascii")
