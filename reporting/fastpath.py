"""Framing and checking many records in one compiled call.

Per record, the journal needs a CRC-32 and two SHA-256 hashes (the chain and
the Merkle leaf). Called from Python one by one, each `hashlib` call costs
~400 ns on the benchmark machine, almost all of it the call itself; framing
ran at 0.26 M records/s and verifying at 0.16 M/s. Here a numba kernel walks
a whole batch, computing the CRC-32 itself (table-driven) and the SHA-256
through OpenSSL's `SHA256_Init/Update/Final`, whose addresses are handed to
the kernel as ctypes function pointers (so the kernel caches on disk like
the others). `hashlib` uses the same OpenSSL library.

When libcrypto cannot be loaded, `available()` is False and the journal keeps
to its plain-Python path (`reporting.format`), which computes the same bytes;
the tests compare the two.
"""
from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np
from numba import njit

_SHA = None


def _load():
    global _SHA
    if _SHA is not None:
        return _SHA
    _SHA = ()
    name = ctypes.util.find_library("crypto")
    if not name:
        return _SHA
    try:
        lib = ctypes.CDLL(name)
        init, update, final = lib.SHA256_Init, lib.SHA256_Update, lib.SHA256_Final
    except (OSError, AttributeError):
        return _SHA
    for fn in (init, update, final):
        fn.restype = ctypes.c_int
    init.argtypes = [ctypes.c_void_p]
    update.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    final.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    _SHA = (init, update, final)
    return _SHA


def available() -> bool:
    return bool(_load())


def _crc_table() -> np.ndarray:
    table = np.zeros(256, np.int64)
    for n in range(256):
        c = n
        for _ in range(8):
            c = (0xEDB88320 ^ (c >> 1)) if c & 1 else c >> 1
        table[n] = c
    return table


CRC_TABLE = _crc_table()
CTX_BYTES = 256                     # more than OpenSSL's SHA256_CTX (112 bytes)


@njit(cache=True)
def crc32(buf, start, end, table):
    c = 0xFFFFFFFF
    for i in range(start, end):
        c = table[(c ^ np.int64(buf[i])) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


@njit(cache=True)
def _put_u32(out, p, x):
    for k in range(4):
        out[p + k] = (x >> (8 * k)) & 0xFF


@njit(cache=True)
def _chain_hash(init, update, final, c, head, scratch, number, buf, a, length, out):
    """out[:32] = SHA-256(head || u64 number || buf[a:a + length]), the chain
    hash (`reporting.format.chain`); scratch[:8] holds the number."""
    for k in range(8):
        scratch[k] = (number >> (8 * k)) & 0xFF
    init(c)
    update(c, head.ctypes.data, 32)
    update(c, scratch.ctypes.data, 8)
    update(c, buf[a:].ctypes.data, length)
    final(out.ctypes.data, c)


@njit(cache=True)
def _leaf_hash(init, update, final, c, scratch, buf, a, length, out):
    """out[:32] = SHA-256(0x00 || buf[a:a + length]), the Merkle leaf
    (`reporting.format.leaf_hash`); scratch[8] holds the 0x00."""
    scratch[8] = 0
    init(c)
    update(c, scratch[8:].ctypes.data, 1)
    update(c, buf[a:].ctypes.data, length)
    final(out.ctypes.data, c)


@njit(cache=True)
def frame_batch(init, update, final, payloads, offsets, n, number, head, out, leaves, ctx,
                scratch, table):
    """Frame payloads[offsets[i]:offsets[i+1]] for i < n as records number,
    number + 1, ...: writes the frames to `out` (returns the bytes written),
    each record's Merkle leaf hash to leaves[32 i:32 i + 32], and leaves the
    chain head in `head`. `scratch` holds 9 bytes."""
    c = ctx.ctypes.data
    p = 0
    for i in range(n):
        a, b = offsets[i], offsets[i + 1]
        length = b - a
        _put_u32(out, p, length)
        _put_u32(out, p + 4, crc32(payloads, a, b, table))
        out[p + 8:p + 8 + length] = payloads[a:b]
        _chain_hash(init, update, final, c, head, scratch, number + i, payloads, a, length,
                    head)
        out[p + 8 + length:p + 40 + length] = head
        _leaf_hash(init, update, final, c, scratch, payloads, a, length, leaves[32 * i:])
        p += 40 + length
    return p


@njit(cache=True)
def check_frames(init, update, final, data, pos, end, number, head, leaves, ctx, scratch,
                 table, max_payload):
    """Check the frames of data[pos:end] (stopping at a seal, whose first
    four bytes are "OMSJ"), extending the chain from `head` (left as the last
    good record's). Returns (position, records checked, status): status 0
    when it reached `end` or a seal, else 1 at the first frame that does not
    check (the caller says why). Leaf hashes go to `leaves` while it has room."""
    c = ctx.ctypes.data
    count = 0
    while pos < end:
        if pos + 3 < end and data[pos] == 0x4F and data[pos + 1] == 0x4D \
                and data[pos + 2] == 0x53 and data[pos + 3] == 0x4A:
            return pos, count, 0
        if end - pos < 8:
            return pos, count, 1
        length = 0
        crc = 0
        for k in range(4):
            length |= np.int64(data[pos + k]) << (8 * k)
            crc |= np.int64(data[pos + 4 + k]) << (8 * k)
        if length > max_payload or pos + 40 + length > end:
            return pos, count, 1
        a = pos + 8
        if crc32(data, a, a + length, table) != crc:
            return pos, count, 1
        _chain_hash(init, update, final, c, head, scratch, number + count, data, a, length,
                    scratch[16:])
        for k in range(32):
            if scratch[16 + k] != data[a + length + k]:
                return pos, count, 1
        head[:] = scratch[16:48]
        if 32 * (count + 1) <= leaves.shape[0]:
            _leaf_hash(init, update, final, c, scratch, data, a, length, leaves[32 * count:])
        pos = a + length + 32
        count += 1
    return pos, count, 0


@njit(cache=True)
def merkle_root(init, update, final, level, n, ctx, scratch):
    """RFC 6962 root of the n leaf hashes in level[:32 n] (overwritten),
    pairing neighbours level by level; the root is left in level[:32]."""
    c = ctx.ctypes.data
    scratch[8] = 1
    while n > 1:
        half = n // 2
        for i in range(half):
            init(c)
            update(c, scratch[8:].ctypes.data, 1)
            update(c, level[64 * i:].ctypes.data, 64)
            final(level[32 * i:].ctypes.data, c)
        if n % 2:
            level[32 * half:32 * half + 32] = level[32 * (n - 1):32 * n]
            n = half + 1
        else:
            n = half
    return n


class Hasher:
    """The kernels' per-thread state: OpenSSL's functions, a context, scratch."""

    def __init__(self):
        self.sha = _load()
        self.ctx = np.zeros(CTX_BYTES, np.uint8)
        self.scratch = np.zeros(48, np.uint8)

    def frame(self, payloads: list[bytes], number: int, head: bytes) -> tuple[bytes, bytes,
                                                                               np.ndarray]:
        """(frames, new chain head, leaf hashes n x 32) of records from `number`."""
        n = len(payloads)
        blob = np.frombuffer(b"".join(payloads), np.uint8)
        offsets = np.zeros(n + 1, np.int64)
        np.cumsum(np.fromiter(map(len, payloads), np.int64, count=n), out=offsets[1:])
        out = np.empty(int(offsets[-1]) + 40 * n, np.uint8)
        leaves = np.empty(32 * n, np.uint8)
        h = np.frombuffer(head, np.uint8).copy()
        size = frame_batch(*self.sha, blob, offsets, n, number, h, out, leaves, self.ctx,
                           self.scratch, CRC_TABLE)
        return out[:size].tobytes(), h.tobytes(), leaves.reshape(n, 32)

    def merkle_root(self, leaves: bytes) -> bytes:
        """`reporting.format.merkle_root` of the concatenated 32-byte leaf hashes."""
        level = np.frombuffer(leaves, np.uint8).copy()
        merkle_root(*self.sha, level, len(leaves) // 32, self.ctx, self.scratch)
        return level[:32].tobytes()

    def check(self, data: np.ndarray, pos: int, end: int, number: int, head: bytes,
              max_payload: int, want_leaves: int = 0) -> tuple[int, int, int, bytes, np.ndarray]:
        """(position, records, status, chain head, leaves) of `check_frames`."""
        h = np.frombuffer(head, np.uint8).copy()
        leaves = np.empty(32 * want_leaves, np.uint8)
        p, count, status = check_frames(*self.sha, data, pos, end, number, h, leaves, self.ctx,
                                        self.scratch, CRC_TABLE, max_payload)
        return int(p), int(count), int(status), h.tobytes(), \
            leaves[:32 * min(count, want_leaves)].reshape(-1, 32)
