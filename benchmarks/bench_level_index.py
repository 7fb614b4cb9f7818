"""Which price-level index: a price ladder over the band, or sorted level vectors?

The decision behind `engine.book_kernels` (see its docstring), measured. Both
candidates are reduced to the level index alone (counts per price, best price)
and driven by the same stream of level operations: orders added a few ticks
behind the touch, cancelled at random, and taken from the best level by
marketable flow, while the mid wanders. After every operation both report the
best bid and ask; the checksums must agree.

Two shapes of book: *tight* (the realistic flow: a few dozen live levels near
the touch) and *sparse* (orders spread over 100,000 ticks, so the next level
after a sweep is far away: the ladder's weak case).
"""
import numpy as np
import pytest
from numba import njit
from sortedcontainers import SortedList

ADD, CANCEL = 0, 1


def level_ops(n: int, spread: int, seed: int = 7):
    """(kind, side, price) arrays: adds, cancels of random live orders, and
    fills at the best level. Prices stay within [1, 4 * spread + 2000]."""
    rng = np.random.default_rng(seed)
    mid = 2 * spread + 1000
    kinds = np.zeros(n, np.int8)
    sides = np.zeros(n, np.int8)
    prices = np.zeros(n, np.int64)
    live = [[], []]                      # per side: list of live order prices
    best = [SortedList(), SortedList()]  # bids, asks
    for i in range(n):
        mid += int(rng.integers(-1, 2)) if rng.random() < 0.1 else 0
        s = int(rng.integers(0, 2))
        r = rng.random()
        if r < 0.55 or not live[s]:
            depth = int(rng.geometric(0.3)) if spread < 50 else int(rng.integers(1, spread))
            p = mid - depth if s == 0 else mid + depth
            kinds[i], sides[i], prices[i] = ADD, s, p
            live[s].append(p)
            best[s].add(p)
        else:
            if r < 0.85:
                j = int(rng.integers(0, len(live[s])))
            else:                        # a fill at the touch
                p = best[s][-1] if s == 0 else best[s][0]
                j = live[s].index(p)
            p = live[s][j]
            live[s][j] = live[s][-1]
            live[s].pop()
            best[s].remove(p)
            kinds[i], sides[i], prices[i] = CANCEL, s, p
    return kinds, sides, prices


@njit(cache=True)
def run_ladder(kinds, sides, prices, size):
    """Counts per tick over [0, size); best kept, rescanned when it empties."""
    count = np.zeros((2, size), np.int64)
    best_bid, best_ask = -1, size
    check = 0
    for i in range(len(kinds)):
        s, p = sides[i], prices[i]
        if kinds[i] == ADD:
            count[s, p] += 1
            if s == 0 and p > best_bid:
                best_bid = p
            if s == 1 and p < best_ask:
                best_ask = p
        else:
            count[s, p] -= 1
            if count[s, p] == 0:
                if s == 0 and p == best_bid:
                    while best_bid >= 0 and count[0, best_bid] == 0:
                        best_bid -= 1
                if s == 1 and p == best_ask:
                    while best_ask < size and count[1, best_ask] == 0:
                        best_ask += 1
        check += best_bid * 3 + best_ask
    return check


@njit(cache=True)
def _lower_bound(keys, n, key):
    hi, lo, step = n, n - 1, 1
    while lo >= 0 and keys[lo] >= key:
        hi = lo
        lo -= step
        step <<= 1
    lo = max(lo, -1) + 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True)
def run_vectors(kinds, sides, prices, size):
    """Sorted (key, count) vectors per side, best last, key = price * sign."""
    keys = np.zeros((2, len(kinds) + 1), np.int64)
    counts = np.zeros((2, len(kinds) + 1), np.int64)
    n = np.zeros(2, np.int64)
    check = 0
    for i in range(len(kinds)):
        s, p = sides[i], prices[i]
        key = p if s == 0 else -p
        m = n[s]
        pos = _lower_bound(keys[s], m, key)
        if kinds[i] == ADD:
            if pos < m and keys[s, pos] == key:
                counts[s, pos] += 1
            else:
                for j in range(m, pos, -1):
                    keys[s, j] = keys[s, j - 1]
                    counts[s, j] = counts[s, j - 1]
                keys[s, pos] = key
                counts[s, pos] = 1
                n[s] = m + 1
        else:
            counts[s, pos] -= 1
            if counts[s, pos] == 0:
                for j in range(pos, m - 1):
                    keys[s, j] = keys[s, j + 1]
                    counts[s, j] = counts[s, j + 1]
                n[s] = m - 1
        bid = keys[0, n[0] - 1] if n[0] > 0 else -1
        ask = -keys[1, n[1] - 1] if n[1] > 0 else size
        check += bid * 3 + ask
    return check


SHAPES = {"tight": 10, "sparse": 25_000}


@pytest.fixture(scope="module", params=sorted(SHAPES))
def ops(request):
    spread = SHAPES[request.param]
    kinds, sides, prices = level_ops(200_000, spread)
    size = 4 * spread + 2000 + 1
    return request.param, kinds, sides, prices, size


@pytest.mark.parametrize("index", ["ladder", "vectors"])
def test_level_index(benchmark, ops, index):
    shape, kinds, sides, prices, size = ops
    benchmark.group = f"level-index-{shape}"
    run = run_ladder if index == "ladder" else run_vectors
    expected = run_ladder(kinds, sides, prices, size)
    assert benchmark(run, kinds, sides, prices, size) == expected
