"""The journal's bytes: segment header, record frame, seal footer, Merkle root.

`docs/JOURNAL.md` is the specification; this module is its one
implementation in the project, kept small so that the two can be read side by
side. Integers are little-endian. Hashes are SHA-256.

    segment = header, frame*, [footer]
    header  = magic "OMSJSEG1" (8), version u32 = 1, reserved u32 = 0,
              segment number u64 (from 1), first record number u64 (from 0),
              chain head before the segment (32)                     -- 64 bytes
    frame   = payload length u32, CRC-32 of the payload u32, payload,
              chain hash (32) = SHA-256(previous chain hash || record number u64 || payload)
    footer  = magic "OMSJSEAL" (8), record count u64, chain head (32),
              Merkle root (32), CRC-32 of the 80 bytes before it u32  -- 84 bytes

A footer is told from a frame by its first four bytes, "OMSJ", which as a
length would exceed `MAX_PAYLOAD`.
"""
from __future__ import annotations

import hashlib
import struct
import zlib

SEGMENT_MAGIC = b"OMSJSEG1"
SEAL_MAGIC = b"OMSJSEAL"
VERSION = 1
HEADER = struct.Struct("<8sII QQ32s")
FRAME_HEAD = struct.Struct("<II")
FOOTER_BODY = struct.Struct("<8sQ32s32s")
FOOTER = struct.Struct("<8sQ32s32sI")
HASH_SIZE = 32
ZERO_HASH = bytes(HASH_SIZE)
MAX_PAYLOAD = 1 << 26
RECORD_NUMBER = struct.Struct("<Q")

assert HEADER.size == 64 and FOOTER.size == 84 and FOOTER_BODY.size == 80


def segment_name(number: int) -> str:
    """Segment files are numbered from 1: ``000000000001.seg``."""
    return f"{number:012d}.seg"


def pack_header(segment: int, first_record: int, chain_head: bytes) -> bytes:
    return HEADER.pack(SEGMENT_MAGIC, VERSION, 0, segment, first_record, chain_head)


def chain(previous: bytes, number: int, payload: bytes) -> bytes:
    """The chain hash of record `number`: it commits to every record before it."""
    return hashlib.sha256(previous + RECORD_NUMBER.pack(number) + payload).digest()


def frame(payload: bytes, chain_hash: bytes) -> bytes:
    return FRAME_HEAD.pack(len(payload), zlib.crc32(payload)) + payload + chain_hash


def pack_footer(count: int, chain_head: bytes, merkle_root: bytes) -> bytes:
    body = FOOTER_BODY.pack(SEAL_MAGIC, count, chain_head, merkle_root)
    return body + struct.pack("<I", zlib.crc32(body))


def leaf_hash(payload: bytes) -> bytes:
    """RFC 6962 leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + payload).digest()


def merkle_root_of(leaves: bytes | bytearray, hasher=None) -> bytes:
    """`merkle_root` of concatenated 32-byte leaf hashes, compiled when `hasher`
    (a `reporting.fastpath.Hasher`) is given."""
    if hasher is not None and leaves:
        return hasher.merkle_root(bytes(leaves))
    return merkle_root([bytes(leaves[i:i + HASH_SIZE]) for i in range(0, len(leaves), HASH_SIZE)])


def merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 Merkle Tree Hash of the leaf hashes, in order: the left
    subtree holds the largest power of two smaller than n. The empty tree's
    hash is SHA-256 of nothing."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    level = list(leaves)
    # Built bottom-up: pairing neighbours level by level and carrying an odd
    # last node up unchanged gives the same tree as the recursive split.
    while len(level) > 1:
        nxt = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
               for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]
