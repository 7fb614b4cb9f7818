"""What the matching engine needs to know of instruments and accounts.

Plain data in engine units (ticks, indexes); `engine.refdata` builds these from
the configuration and keeps the names.
"""
from msgspec import Struct

from .enums import StpMode


class BookSpec(Struct, frozen=True):
    """One instrument's rules in ticks. No band: any positive price."""
    lot: int = 1
    band_lo: int | None = None
    band_hi: int | None = None


class AccountSpec(Struct, frozen=True):
    """Self-trade prevention: `stp_group` ties accounts together (by default
    each account is its own group); the aggressor's `stp_mode` applies."""
    stp_mode: StpMode = StpMode.NONE
    stp_group: int | None = None
