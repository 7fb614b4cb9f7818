"""A seeded, realistic order flow for benchmarks.

Shaped like a lit continuous market: most messages are passive orders a few
ticks from the touch and cancels of them, some replaces, and a steady share of
marketable orders (limit orders through the touch, IOC and market orders) that
trade. Each instrument's mid price takes a slow random walk. The same seed
gives the same flow on any machine.

The flow is built as a `COMMAND_DTYPE` array (the replay door's input);
`engine.batch.array_to_commands` gives the same commands as structs for the
per-command door and the reference book.
"""
import numpy as np

from engine.enums import CommandKind, OrdType, TimeInForce
from engine.layout import COMMAND_DTYPE
from engine.specs import AccountSpec, BookSpec

MID = 10_000          # ticks: 100.00 at a 0.01 tick
NANOS_PER_COMMAND = 1_000


def venue(instruments: int = 4, accounts: int = 16) -> tuple[list[BookSpec], list[AccountSpec]]:
    """The books and accounts the flow runs against: lot 1, no band, no STP."""
    return [BookSpec() for _ in range(instruments)], [AccountSpec() for _ in range(accounts)]


def generate(n: int, seed: int = 1, instruments: int = 4, accounts: int = 16,
             marketable: float = 0.12, cancel: float = 0.30, replace: float = 0.10,
             first_order_id: int = 1) -> np.ndarray:
    """`n` commands: passive adds, cancels and replaces of live orders,
    marketable orders. O(n), about 1 us per command."""
    rng = np.random.default_rng(seed)
    cmds = np.zeros(n, COMMAND_DTYPE)
    roll = rng.random(n)
    inst = rng.integers(0, instruments, n)
    sides = rng.choice(np.array([1, -1], np.int8), n)
    depth = rng.geometric(0.35, n)                 # ticks behind the touch, mostly 1-3
    lots = rng.integers(1, 11, n) * 100
    accts = rng.integers(0, accounts, n)
    walk = rng.choice(np.array([-1, 0, 0, 0, 0, 0, 0, 1]), n)
    pick = rng.random(n)
    mids = np.full(instruments, MID, np.int64)
    live: list[list[int]] = [[] for _ in range(instruments)]
    where: dict[int, tuple[int, int, int, int]] = {}   # id -> (instrument, side, price, account)
    next_id = first_order_id
    kind_new, kind_cancel, kind_replace = (int(CommandKind.NEW), int(CommandKind.CANCEL),
                                           int(CommandKind.REPLACE))
    for i in range(n):
        b = int(inst[i])
        mids[b] += walk[i]
        mid = int(mids[b])
        s = int(sides[i])
        r = roll[i]
        c = cmds[i]
        c["ts"] = (i + 1) * NANOS_PER_COMMAND
        c["instrument"] = b
        orders = live[b]
        if r < cancel and orders:
            j = int(pick[i] * len(orders))
            oid = orders[j]
            orders[j] = orders[-1]
            orders.pop()
            c["kind"] = kind_cancel
            c["order_id"] = oid
            c["account"] = where.pop(oid)[3]
            continue
        if r < cancel + replace and orders:
            oid = orders[int(pick[i] * len(orders))]
            _, os, price, acct = where[oid]
            c["kind"] = kind_replace
            c["order_id"] = oid
            c["account"] = acct
            c["qty"] = lots[i]
            c["price"] = price if depth[i] > 2 else price - os   # mostly a size change
            where[oid] = (b, os, int(c["price"]), acct)
            continue
        c["kind"] = kind_new
        c["order_id"] = next_id
        c["account"] = accts[i]
        c["side"] = s
        c["qty"] = lots[i]
        c["ord_type"] = int(OrdType.LIMIT)
        if r > 1.0 - marketable:
            c["price"] = mid + s * (1 + depth[i] // 2)       # through the touch
            c["tif"] = int(TimeInForce.IOC) if pick[i] < 0.7 else int(TimeInForce.DAY)
            if pick[i] < 0.1:
                c["ord_type"] = int(OrdType.MARKET)
                c["price"] = 0
                c["tif"] = int(TimeInForce.IOC)
        else:
            c["price"] = mid - s * depth[i]
            c["tif"] = int(TimeInForce.DAY) if pick[i] < 0.8 else int(TimeInForce.GTC)
        if c["tif"] != int(TimeInForce.IOC):
            orders.append(next_id)
            where[next_id] = (b, s, int(c["price"]), int(accts[i]))
        next_id += 1
    return cmds


def resting_book(n: int, instrument: int = 0, levels: int = 2_000, seed: int = 2,
                 first_order_id: int = 1 << 40) -> np.ndarray:
    """`n` passive orders spread over `levels` prices each side of the mid,
    none crossing: a deep book to measure the engine with many resting orders."""
    rng = np.random.default_rng(seed)
    cmds = np.zeros(n, COMMAND_DTYPE)
    side = rng.choice(np.array([1, -1], np.int8), n)
    cmds["kind"] = int(CommandKind.NEW)
    cmds["order_id"] = first_order_id + np.arange(n)
    cmds["instrument"] = instrument
    cmds["account"] = rng.integers(0, 16, n)
    cmds["side"] = side
    cmds["ord_type"] = int(OrdType.LIMIT)
    cmds["tif"] = int(TimeInForce.GTC)
    cmds["qty"] = rng.integers(1, 11, n) * 100
    cmds["price"] = MID - side.astype(np.int64) * (100 + rng.integers(0, levels, n))
    cmds["ts"] = np.arange(n)
    return cmds

