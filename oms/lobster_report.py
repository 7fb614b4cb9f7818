"""The report of `oms replay --format lobster`: a summary per pair, the first
mismatches with the engine's book beside LOBSTER's, and with --json one JSON
object on the last line (totals, and the per-pair summaries under "files")."""
from __future__ import annotations

import json

COUNTS = ("rows", "exact", "revealed", "mismatch", "unchecked", "rejects", "short")


def totals(results: list[dict]) -> dict:
    """Counts added over the pairs; messages per second over all replay time."""
    out = {key: sum(r[key] for r in results) for key in COUNTS}
    seconds = sum(r["replay_seconds"] for r in results)
    out["messages_per_second"] = round(out["rows"] / seconds) if seconds > 0 else None
    out["replay_seconds"] = round(seconds, 6)
    out["load_seconds"] = round(sum(r["load_seconds"] for r in results), 6)
    if any("runs_agree" in r for r in results):
        out["runs_agree"] = sum(r.get("runs_agree", 0) for r in results)
        out["runs_differ"] = sum(r.get("runs_differ", 0) for r in results)
    return out


def render(results: list[dict], total: dict, as_json: bool, out) -> None:
    for r in results:
        for line in pair_lines(r):
            print(line, file=out)
    if len(results) > 1:
        print(f"all: {_counts(total)}; {_rate(total['messages_per_second'])} messages/s",
              file=out)
    if as_json:
        print(json.dumps({**total, "files": results}, separators=(",", ":")), file=out)


def pair_lines(r: dict) -> list[str]:
    checked = "checked" if r["checked"] else "not checked (--no-check)"
    lines = [f"{r['message_file']} (depth {r['depth']})",
             f"  {_counts(r)}" if r["checked"] else f"  rows {r['rows']:,}, {checked}",
             f"  replay {r['replay_seconds'] * 1e3:.1f} ms, "
             f"{_rate(r['messages_per_second'])} messages/s; load "
             f"{r['load_seconds'] * 1e3:.1f} ms, {_rate(r['load_rows_per_second'])} rows/s"]
    if r["rejects"] or r["short"]:
        lines.append(f"  engine refused {r['rejects']:,} new orders; {r['short']:,} "
                     "reductions found less volume than the message names")
    if "runs_agree" in r:
        lines.append(f"  --match: {r['runs_agree'] + r['runs_differ']:,} runs of visible "
                     f"executions, {r['runs_agree']:,} agree, {r['runs_differ']:,} differ")
        for d in r["first_differing_runs"]:
            first, last = d["lines"]
            lines.append(f"    lines {first}-{last}: LOBSTER {_fills(d['lobster'])}")
            lines.append(f"    {' ' * len(f'lines {first}-{last}:')} engine  "
                         f"{_fills(d['engine'])}")
    for m in r["first_mismatches"]:
        lines.append(f"  mismatch at line {m['line']}: {m['message']}")
        lines.extend("    " + line for line in side_by_side(m["engine"], m["file"]))
    return lines


def side_by_side(engine: dict, wanted: dict) -> list[str]:
    """Two books as a ladder, asks above bids, best levels in the middle."""
    rows = [f"{'':6}{'engine':>22}  {'LOBSTER':>22}"]
    for side, order in (("asks", -1), ("bids", 1)):
        n = max(len(engine[side]), len(wanted[side]))
        for level in list(range(n))[::order]:
            mark = "" if _at(engine[side], level) == _at(wanted[side], level) else "  <-"
            rows.append(f"{side[:3]}{level + 1:<3}{_level(engine[side], level):>22}  "
                        f"{_level(wanted[side], level):>22}{mark}")
    return rows


def dollars(price: int) -> str:
    """LOBSTER's integer price (dollars x 10000) as dollars, exactly.

    >>> dollars(5853300), dollars(5)
    ('585.3300', '0.0005')
    """
    sign = "-" if price < 0 else ""
    return f"{sign}{abs(price) // 10000}.{abs(price) % 10000:04d}"


def _at(levels, i):
    return tuple(levels[i]) if i < len(levels) else None


def _level(levels, i) -> str:
    level = _at(levels, i)
    return "-" if level is None else f"{level[1]:,} @ {dollars(level[0])}"


def _fills(fills) -> str:
    return ", ".join(f"{'anonymous' if who == 0 else who} {qty:,} @ {dollars(price)}"
                     for who, price, qty in fills) or "no fills"


def _counts(r: dict) -> str:
    text = (f"rows {r['rows']:,}: exact {r['exact']:,}, revealed {r['revealed']:,}, "
            f"mismatch {r['mismatch']:,}")
    return text + (f", unchecked {r['unchecked']:,} (inside --match runs)"
                   if r["unchecked"] else "")


def _rate(per_second) -> str:
    return "-" if per_second is None else f"{per_second / 1e6:.2f} M"
