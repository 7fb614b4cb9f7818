"""LOBSTER replay kernels: the loop over the messages, and `--match`.

Each message becomes engine commands (`oms.lobster_book`), then the book is
checked against the orderbook row (`oms.lobster_check`).

With `match`, each run of visible executions (type 4) with the same time and
direction becomes one IOC limit order of the opposite side for the run's total
at its worst price; its fills are compared with the run's messages, resting
order by resting order (ids the engine does not hold count as anonymous).
A price the run reaches that the engine does not hold moved in from beyond
the depth during the run: the row before the message that first trades there
gives its size, added as anonymous volume before the IOC. Rows inside a run
are UNCHECKED: the IOC does the whole run at once.

Kernels return engine status codes: OK, or a NEED_* status from the room
check made before each message (the caller grows the engine and calls again
from that message), or FAULT if a command failed after that check (a bug).
"""
from engine.array_table import unpack
from engine.book_kernels import covers, level_on
from engine.jit import kernel
from engine.layout import (BUY, C_NEV, CMD_NEW, DAY, EV_KIND, EV_TRADE, IOC, NO_LEVEL, OK,
                           TR_AGGRESSOR, TR_BUY_ACCOUNT, TR_BUY_ID, TR_PRICE, TR_QTY,
                           TR_SELL_ACCOUNT, TR_SELL_ID)

from .lobster_book import (ANON, ASK, BID, FAULT, FILE, S_AGREE, S_DIFFER, S_DIFFS, S_DIRTY,
                           S_FAULT, S_NEXT_ID, S_RUN_STOP, TAKER, UNCHECKED, apply_message,
                           command, ladder_of, live_file_order, room)
from .lobster_check import check_row


@kernel
def merge_fill(fills, n, who, price, qty):
    """Append (who, price, qty) to fills[:n], adding to the last entry when it
    has the same party and price; returns the new n (capped at the array)."""
    if n > 0 and fills[n - 1, 0] == who and fills[n - 1, 1] == price:
        fills[n - 1, 2] += qty
        return n
    if n == fills.shape[0]:
        return n
    fills[n, 0] = who
    fills[n, 1] = price
    fills[n, 2] = qty
    return n + 1


@kernel
def run_prices(msgs, i, e):
    """(lowest, highest) price of the run msgs[i..e]."""
    lo = hi = msgs[i]["price"]
    for j in range(i + 1, e + 1):
        lo = min(lo, msgs[j]["price"])
        hi = max(hi, msgs[j]["price"])
    return lo, hi


@kernel
def reveal_for_run(t, st, msgs, rows, i, e):
    """Before a run's IOC: a price the run reaches that the engine does not
    hold moved in from beyond the depth while the run swept the levels before
    it; the row before the message that first trades there gives its size."""
    orders, levels, books, accounts, ids, ladders, rungs = unpack(t)[:7]
    d = msgs[i]["direction"]
    k = BID if d == BUY else ASK
    lad = ladder_of(k)
    for j in range(i + 1, e + 1):
        price = msgs[j]["price"]
        if not covers(ladders, lad, price) or level_on(ladders, rungs, lad, price) != NO_LEVEL:
            continue
        for c in range(2 * k, rows.shape[1], 4):
            if rows[j - 1, c] == price and rows[j - 1, c + 1] > 0:
                command(t, st, CMD_NEW, st[S_NEXT_ID], ANON, d, DAY, price,
                        rows[j - 1, c + 1], msgs[j]["ts"])
                st[S_NEXT_ID] += 1
                break


@kernel
def match_run(t, st, msgs, rows, check, i, e, lob, eng):
    """Send run msgs[i..e] as one IOC and compare its fills with the run's.
    Fills are (resting order id, or 0 for anonymous, price, qty), merged per
    party and price; `lob` and `eng` receive them. Returns (agree, n_lob, n_eng)."""
    ctr, ev = unpack(t)[7:9]
    d = msgs[i]["direction"]
    total = 0
    limit = msgs[i]["price"]
    n_lob = 0
    for j in range(i, e + 1):
        price = msgs[j]["price"]
        total += msgs[j]["size"]
        limit = max(limit, price) if d != BUY else min(limit, price)
        who = msgs[j]["order_id"] if live_file_order(t, msgs[j]["order_id"]) >= 0 else 0
        n_lob = merge_fill(lob, n_lob, who, price, msgs[j]["size"])
    if check:
        reveal_for_run(t, st, msgs, rows, i, e)
    command(t, st, CMD_NEW, st[S_NEXT_ID], TAKER, -d, IOC, limit, total, msgs[i]["ts"])
    st[S_NEXT_ID] += 1
    n_eng = 0
    for r in range(ctr[C_NEV]):
        if ev[r, EV_KIND] != EV_TRADE:
            continue
        if ev[r, TR_AGGRESSOR] == BUY:
            who, account = ev[r, TR_SELL_ID], ev[r, TR_SELL_ACCOUNT]
        else:
            who, account = ev[r, TR_BUY_ID], ev[r, TR_BUY_ACCOUNT]
        if n_eng == eng.shape[0]:
            return False, n_lob, n_eng               # more fills than the run had
        n_eng = merge_fill(eng, n_eng, who if account == FILE else 0, ev[r, TR_PRICE],
                           ev[r, TR_QTY])
    agree = n_lob == n_eng
    for j in range(n_lob):
        if not agree:
            break
        agree = lob[j, 0] == eng[j, 0] and lob[j, 1] == eng[j, 1] and lob[j, 2] == eng[j, 2]
    return agree, n_lob, n_eng


@kernel
def replay(t, st, msgs, rows, run_end, depth, check, match, start, end, status, snaps,
           snap_rows, lob, eng, diffs, diff_runs):
    """Replay msgs[start:end]: apply each message and, with `check`, compare
    the book with rows[i] and write status[i]. `run_end[i]` is the last
    message of the type-4 run starting at i, else -1 (used with `match`).
    Returns (next message, OK or the NEED_* status to grow by, or FAULT)."""
    for i in range(start, end):
        msg = msgs[i]
        row = rows[i] if check else rows[0]
        starts_run = match and run_end[i] >= 0
        if starts_run:
            e = run_end[i]
            lo, hi = run_prices(msgs, i, e)
            d = msg["direction"]
            worst = lo if d == BUY else hi
            s = room(t, depth, msg, row, check, -d, worst, worst, e - i + 1)
            if s == OK:                              # the prices the run may reveal
                s = room(t, depth, msg, row, False, d, lo, hi, 0)
        else:
            s = room(t, depth, msg, row, check, 0, 0, 0, 0)
        if s != OK:
            return i, s
        if starts_run:
            st[S_RUN_STOP] = run_end[i]
            agree, n_lob, n_eng = match_run(t, st, msgs, rows, check, i, run_end[i], lob, eng)
            if agree:
                st[S_AGREE] += 1
            else:
                st[S_DIFFER] += 1
                if st[S_DIFFS] < diff_runs.shape[0]:
                    n = st[S_DIFFS]
                    diff_runs[n, 0], diff_runs[n, 1] = i, run_end[i]
                    diff_runs[n, 2], diff_runs[n, 3] = n_lob, n_eng
                    for j in range(min(n_lob, diffs.shape[2])):
                        for c in range(3):
                            diffs[n, 0, j, c] = lob[j, c]
                    for j in range(min(n_eng, diffs.shape[2])):
                        for c in range(3):
                            diffs[n, 1, j, c] = eng[j, c]
                    st[S_DIFFS] = n + 1
            st[S_DIRTY] = 3
        elif st[S_RUN_STOP] < i:
            st[S_DIRTY] |= apply_message(t, st, msg)
        if st[S_FAULT] != 0:
            return i, FAULT
        if check:
            if st[S_RUN_STOP] > i:
                status[i] = UNCHECKED
            else:
                status[i] = check_row(t, st, rows, i, depth, msg["ts"], snaps, snap_rows)
            if st[S_FAULT] != 0:
                return i, FAULT
    return end, OK
