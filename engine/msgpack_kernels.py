"""msgpack in numba: commands in, events out, byte for byte as msgspec encodes them.

The per-command door passes a command to the kernels as its msgspec encoding
(the same bytes the journal stores) and gets the events back as msgpack that
one `msgspec.msgpack.Decoder.decode` call turns into structs, enum fields
included. Crossing into numba with one bytes object instead of thirteen
integers, and back with one buffer instead of reading numpy rows field by field
from Python (about 1 us per event), is what makes the door fast. Tests check
both directions against msgspec for every command and event kind.

Only what our structs use is supported: arrays of integers and booleans.
"""
import msgspec
import numpy as np
from .jit import kernel

from .commands import AnyCommand
from .events import EVENT_TYPES, ROW_WIDTH, AnyEvent
from .layout import CMD_CANCEL, CMD_EXPIRE, CMD_MASS_CANCEL, CMD_NEW, CMD_REPLACE

# --- events out ---
N_FIELDS = np.zeros(max(EVENT_TYPES) + 1, np.int64)     # per kind, fields after the tag
IS_BOOL = np.zeros((max(EVENT_TYPES) + 1, ROW_WIDTH), np.int8)
for _kind, _cls in EVENT_TYPES.items():
    N_FIELDS[_kind] = len(_cls.__struct_fields__)
    for _i, _f in enumerate(msgspec.structs.fields(_cls)):
        IS_BOOL[_kind, 1 + _i] = _f.type is bool

LIST_HEADER = 5   # bytes: array32 marker and count, ahead of the events
EVENT_DECODER = msgspec.msgpack.Decoder(list[AnyEvent])
COMMAND_ENCODER = msgspec.msgpack.Encoder()
COMMAND_DECODER = msgspec.msgpack.Decoder(AnyCommand)

# --- commands in: fields after the tag, per kind ---
N_COMMAND_FIELDS = np.zeros(6, np.int64)
N_COMMAND_FIELDS[CMD_NEW] = 12
N_COMMAND_FIELDS[CMD_CANCEL] = 4
N_COMMAND_FIELDS[CMD_REPLACE] = 8
N_COMMAND_FIELDS[CMD_MASS_CANCEL] = 5
N_COMMAND_FIELDS[CMD_EXPIRE] = 2
BAD_COMMAND = -100


def bytes_needed(rows: int) -> int:
    """Buffer size for `rows` events: header plus the worst case per row."""
    return LIST_HEADER + rows * (3 + 9 * ROW_WIDTH)


@kernel
def put_int(out, p, x):
    """Write msgpack integer `x` at out[p] in the shortest form, as msgspec does.
    Returns the offset after it."""
    if x >= 0:
        if x < 128:
            out[p] = x
            return p + 1
        if x < 256:
            out[p] = 0xCC
            out[p + 1] = x
            return p + 2
        if x < 65536:
            out[p] = 0xCD
            n = 2
        elif x < 4294967296:
            out[p] = 0xCE
            n = 4
        else:
            out[p] = 0xCF
            n = 8
    else:
        if x >= -32:
            out[p] = x & 0xFF
            return p + 1
        if x >= -128:
            out[p] = 0xD0
            n = 1
        elif x >= -32768:
            out[p] = 0xD1
            n = 2
        elif x >= -2147483648:
            out[p] = 0xD2
            n = 4
        else:
            out[p] = 0xD3
            n = 8
    for i in range(n):
        out[p + n - i] = (x >> (8 * i)) & 0xFF
    return p + 1 + n


@kernel
def encode_rows(ev, start, end, out):
    """Write event rows ev[start:end] into `out` as one msgpack array of events.
    `out` holds at least bytes_needed(end - start). Returns the bytes written."""
    n = end - start
    out[0] = 0xDD
    out[1] = (n >> 24) & 0xFF
    out[2] = (n >> 16) & 0xFF
    out[3] = (n >> 8) & 0xFF
    out[4] = n & 0xFF
    p = LIST_HEADER
    for r in range(start, end):
        kind = ev[r, 0]
        m = N_FIELDS[kind] + 1
        if m < 16:
            out[p] = 0x90 | m
            p += 1
        else:
            out[p] = 0xDC
            out[p + 1] = 0
            out[p + 2] = m
            p += 3
        p = put_int(out, p, kind)
        for c in range(1, m):
            if IS_BOOL[kind, c]:
                out[p] = 0xC3 if ev[r, c] != 0 else 0xC2
                p += 1
            else:
                p = put_int(out, p, ev[r, c])
    return p


@kernel
def get_int(buf, p):
    """Read a msgpack integer at buf[p]: (value, next offset), or (0, -1) if the
    byte there starts no integer or the value does not fit int64."""
    if p < 0 or p >= len(buf):
        return 0, -1
    m = buf[p]
    if m < 0x80:
        return np.int64(m), p + 1
    if m >= 0xE0:
        return np.int64(m) - 256, p + 1
    if m == 0xCC or m == 0xD0:
        n = 1
    elif m == 0xCD or m == 0xD1:
        n = 2
    elif m == 0xCE or m == 0xD2:
        n = 4
    elif m == 0xCF or m == 0xD3:
        n = 8
    else:
        return 0, -1
    if p + n >= len(buf):
        return 0, -1
    x = np.int64(0)
    for i in range(n):
        x = (x << 8) | np.int64(buf[p + 1 + i])
    if m >= 0xD0 and n < 8 and x >= (np.int64(1) << (8 * n - 1)):
        x -= np.int64(1) << (8 * n)           # sign-extend int8/16/32
    if m == 0xCF and x < 0:
        return 0, -1                           # uint64 beyond int64
    return x, p + 1 + n


@kernel
def read_command(buf):
    """Read one encoded command. Returns (status, kind, order_id, instrument,
    account, side, ord_type, tif, flags, price, stop_price, qty, display_qty,
    ts): the `execute` arguments, status 0, or BAD_COMMAND and zeros."""
    z = np.int64(0)
    bad = (BAD_COMMAND, z, z, z, z, z, z, z, z, z, z, z, z, z)
    if len(buf) < 2 or buf[0] < 0x90 or buf[0] > 0x9F:
        return bad
    count = buf[0] - 0x90
    kind, p = get_int(buf, 1)
    if p < 0 or kind < 1 or kind > 5 or count != N_COMMAND_FIELDS[kind] + 1:
        return bad
    v0, p = get_int(buf, p)
    v1, p = get_int(buf, p)
    v2 = v3 = v4 = v5 = v6 = v7 = v8 = v9 = v10 = v11 = z
    if count > 3:
        v2, p = get_int(buf, p)
        v3, p = get_int(buf, p)
    if count > 5:
        v4, p = get_int(buf, p)
    if count > 6:
        v5, p = get_int(buf, p)
        v6, p = get_int(buf, p)
        v7, p = get_int(buf, p)
    if count > 9:
        v8, p = get_int(buf, p)
        v9, p = get_int(buf, p)
        v10, p = get_int(buf, p)
        v11, p = get_int(buf, p)
    if p != len(buf):          # a bad integer anywhere makes p -1 from then on
        return bad
    if kind == CMD_NEW:
        # order_id, instrument, account, side, qty, price, ord_type, tif,
        # stop_price, display_qty, flags, ts
        return (0, kind, v0, v1, v2, v3, v6, v7, v10, v5, v8, v4, v9, v11)
    if kind == CMD_CANCEL:
        # order_id, instrument, account, ts
        return (0, kind, v0, v1, v2, z, z, z, z, z, z, z, z, v3)
    if kind == CMD_REPLACE:
        # order_id, qty, price, stop_price, instrument, account, side, ts
        return (0, kind, v0, v4, v5, v6, z, z, z, v2, v3, v1, z, v7)
    if kind == CMD_MASS_CANCEL:
        # request_id, instrument, account, side, ts
        return (0, kind, v0, v1, v2, v3, z, z, z, z, z, z, z, v4)
    # ExpireOrders: instrument, ts
    return (0, kind, z, v0, np.int64(-1), z, z, z, z, z, z, z, z, v1)
