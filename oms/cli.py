"""The `oms` command: one entry point, one subcommand per job.

    oms serve [--profile P]        the FIX gateway on the built-in venue (or --config)
    oms client [--sender ALICE]    a line-mode FIX client for a person
    oms demo                       replay the bundled demo flow, print trades, book, speed
    oms replay FLOW.csv ...        an order-flow CSV through the engine (see oms.replay)
    oms bench book ...             the book's speed against the reference book
    oms bench risk ...             the cost of the pre-trade checks
    oms bench journal ...          journal append and verify throughput
    oms bench all [--quick]        every benchmark and a LOBSTER replay, one table
    oms risk show ...              limits, usage and headroom per account and instrument
    oms journal verify|stats|tail|replay DIR   a journal from the outside
    oms report trades|orders|summary|verify    compliance exports from a journal
    oms config [FILE]              check a configuration file and show the venue
    oms loadgen [--rate R]         drive a running `oms serve` and measure round trips

Errors a user can cause (a missing file, a bad header, a bad configuration)
print one line naming the problem and exit with status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import sys

from engine.config import ConfigError, load_config
from engine.prices import PriceError, Tick
from engine.refdata import ReferenceData

EXIT_USAGE = 2


class CliError(Exception):
    """A problem to report in one line (exit status 2)."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.run(args)
    except (CliError, ConfigError) as exc:
        print(f"oms: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("oms: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:         # e.g. `oms demo | head`
        return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="oms", description="Low-latency order management engine.")
    sub = p.add_subparsers(title="commands", metavar="COMMAND")

    sv = sub.add_parser("serve", help="the FIX gateway: sessions, risk, book and journal")
    sv.add_argument("--config", metavar="FILE", help="venue and [fix] sessions (default: built in)")
    sv.add_argument("--profile", default="default", choices=("default", "acceptance",
                                                             "acceptance-echo"),
                    help="built-in setups: acceptance = the QuickFIX acceptance-test acceptor")
    sv.add_argument("--host", help="address to listen on (default: [fix].host, 127.0.0.1)")
    sv.add_argument("--port", type=int, help="TCP port (default: [fix].port, 9878)")
    sv.add_argument("--journal", metavar="DIR",
                    help="journal folder (default: [fix].journal; none for the acceptance "
                         "profiles unless given)")
    sv.add_argument("--durability", default="group", choices=("always", "group", "none"),
                    help="journal fsync policy (default group: one fsync per loop turn, before "
                         "the turn's execution reports leave)")
    sv.add_argument("--stats", metavar="FILE",
                    help="write the server's own measurements (internal latency) here as JSON, "
                         "every second; `oms loadgen --stats FILE` reads it")
    sv.set_defaults(run=_serve)

    cl = sub.add_parser("client", help="a line-mode FIX client (buy 100 AAPL 187.00, cancel C1)")
    cl.add_argument("--host", default="127.0.0.1")
    cl.add_argument("--port", type=int, default=9878)
    cl.add_argument("--sender", default="ALICE", help="our SenderCompID (default ALICE)")
    cl.add_argument("--target", default="OMS", help="the server's CompID (default OMS)")
    cl.add_argument("--fix", default="4.4", choices=("4.2", "4.4"), help="FIX version")
    cl.add_argument("--password", help="Password (554) for the Logon")
    cl.set_defaults(run=_client)

    demo = sub.add_parser("demo", help="replay the bundled demo flow on the built-in venue")
    demo.add_argument("--orders", type=_count, default=1_000_000,
                      help="size of the generated flow timed at the end (default 1,000,000)")
    demo.set_defaults(run=_demo)

    rp = sub.add_parser("replay", help="run an order-flow CSV (or LOBSTER files) through the "
                                       "engine")
    rp.add_argument("flow", metavar="FLOW.csv", nargs="+",
                    help="the order flow; with --format lobster, LOBSTER message files")
    rp.add_argument("--format", choices=("csv", "lobster"), default="csv",
                    help="csv: our order-flow CSV (default); lobster: LOBSTER message files, "
                         "each checked against its --orderbook file")
    rp.add_argument("--orderbook", metavar="ORDERBOOK.csv", action="append", default=[],
                    help="(lobster) the orderbook file of each message file, in the same order")
    rp.add_argument("--levels", type=int, help="(lobster) levels per side to compare "
                                               "(default: all the orderbook file has)")
    rp.add_argument("--json", action="store_true", help="(lobster) last line: one JSON object")
    rp.add_argument("--match", action="store_true",
                    help="(lobster) send executions as aggressive IOC orders and compare the "
                         "engine's fills with LOBSTER's")
    rp.add_argument("--no-check", dest="check", action="store_false",
                    help="(lobster) replay without comparing the books (speed)")
    rp.add_argument("--workers", type=int, default=1, metavar="N",
                    help="(lobster) replay the file pairs in N processes at once")
    rp.add_argument("--dask", metavar="ADDRESS",
                    help="(lobster) replay each file pair as a task on this Dask scheduler "
                         "(pip install '.[distributed]')")
    rp.add_argument("--trades-out", metavar="TRADES.csv", help="write the trades here")
    rp.add_argument("--book-out", metavar="BOOK.csv", help="write the final resting orders here")
    rp.add_argument("--rejects-out", metavar="REJECTS.csv",
                    help="write every refused line or command here (line,order_id,reason,detail)")
    rp.add_argument("--journal", metavar="DIR",
                    help="write a new journal of the replay (venue, commands, events) here")
    rp.add_argument("--durability", choices=("none", "group", "always"), default="none",
                    help="how the journal reaches the disk (default none: a replay can be rerun)")
    venue = rp.add_mutually_exclusive_group()
    venue.add_argument("--config", metavar="FILE",
                       help="venue configuration (TOML); its [risk] checks apply")
    venue.add_argument("--tick", metavar="SIZE",
                       help="any symbol and account, this tick size, lot 1, no band, no limits")
    rp.set_defaults(run=_replay)

    bench = sub.add_parser("bench", help="benchmarks")
    bench_sub = bench.add_subparsers(title="benchmarks", metavar="WHAT")
    book = bench_sub.add_parser("book", help="the order book: doors, latency, memory")
    book.add_argument("--orders", type=_count, default=1_000_000,
                      help="commands in the flow (default 1,000,000)")
    book.add_argument("--deep", type=_count, default=1_000_000,
                      help="resting orders for the deep-book run (default 1,000,000)")
    book.add_argument("--seed", type=int, default=1)
    book.add_argument("--reference-limit", type=_count, default=None,
                      help="run the reference book on only the first N commands")
    book.add_argument("--json", action="store_true",
                      help="also print the figures as one JSON object (last line)")
    book.set_defaults(run=_bench_book)

    ba = bench_sub.add_parser("all", help="every benchmark (and a LOBSTER replay), one table")
    ba.add_argument("--quick", action="store_true",
                    help="20,000 commands/records per benchmark instead of 1,000,000")
    ba.add_argument("--lobster", metavar="DIR",
                    help="LOBSTER files for the replay step (default: $OMS_LOBSTER_DIR; "
                         "none: the step is left out)")
    ba.add_argument("--out", metavar="DIR",
                    help="write bench-all.json and bench-all.md (machine, commands, figures)")
    ba.add_argument("--json", action="store_true",
                    help="also print everything as one JSON object (last line)")
    ba.set_defaults(run=_bench_all)

    bj = bench_sub.add_parser("journal", help="journal append and verify throughput")
    bj.add_argument("--records", type=_count, default=1_000_000,
                    help="records appended per mode (default 1,000,000)")
    bj.add_argument("--always-records", type=_count, default=2_000,
                    help="records for the always mode, one fdatasync each (default 2,000)")
    bj.add_argument("--dir", metavar="DIR",
                    help="where to write the journals (default: the temporary directory)")
    bj.add_argument("--json", action="store_true",
                    help="also print the figures as one JSON object (last line)")
    bj.set_defaults(run=_bench_journal)

    risk = sub.add_parser("risk", help="pre-trade risk")
    risk_sub = risk.add_subparsers(title="what", metavar="WHAT")
    show = risk_sub.add_parser("show", help="limits, usage and headroom per account and "
                                            "instrument")
    show.add_argument("--config", metavar="FILE", help="venue configuration (default: built-in)")
    show.add_argument("--flow", metavar="FLOW.csv",
                      help="run this order flow through the checks first (as oms replay)")
    show.add_argument("--journal", metavar="DIR",
                      help="the usage of the journal's venue after its commands (limits "
                           "changed at run time included)")
    show.add_argument("--json", action="store_true", help="one JSON object instead of tables")
    show.set_defaults(run=_risk_show)

    bench_risk = bench_sub.add_parser("risk", help="the cost of the pre-trade checks")
    bench_risk.add_argument("--orders", type=_count, default=1_000_000,
                            help="commands in the flow (default 1,000,000)")
    bench_risk.add_argument("--seed", type=int, default=1)
    bench_risk.add_argument("--json", action="store_true",
                            help="also print the figures as one JSON object (last line)")
    bench_risk.set_defaults(run=_bench_risk)

    jr = sub.add_parser("journal", help="verify, inspect and replay a journal")
    jr_sub = jr.add_subparsers(title="what", metavar="WHAT")
    v = jr_sub.add_parser("verify", help="check framing, CRCs, chain, seals, Merkle roots")
    v.add_argument("dir", metavar="DIR")
    v.set_defaults(run=lambda a: _journal("verify", a.dir))
    st = jr_sub.add_parser("stats", help="what the journal holds")
    st.add_argument("dir", metavar="DIR")
    st.add_argument("--json", action="store_true")
    st.set_defaults(run=lambda a: _journal("stats", a.dir, as_json=a.json))
    tl = jr_sub.add_parser("tail", help="the last records as JSON lines")
    tl.add_argument("dir", metavar="DIR")
    tl.add_argument("-n", type=_count, default=10, help="how many (default 10)")
    tl.add_argument("-f", "--follow", action="store_true", help="keep printing new records")
    tl.set_defaults(run=lambda a: _journal("tail", a.dir, count=a.n, follow=a.follow))
    rj = jr_sub.add_parser("replay", help="replay the commands on a fresh engine")
    rj.add_argument("dir", metavar="DIR")
    rj.add_argument("--check", action="store_true",
                    help="compare the events with the journaled ones, byte for byte")
    rj.set_defaults(run=lambda a: _journal("replay", a.dir, check=a.check))

    rep = sub.add_parser("report", help="compliance exports from a journal")
    rep_sub = rep.add_subparsers(title="report", metavar="REPORT")
    for kind, text in (("trades", "every trade, both parties"),
                       ("orders", "every order's lifecycle"),
                       ("summary", "per account and symbol: orders, fills, volume, VWAP, rejects")):
        r = rep_sub.add_parser(kind, help=text)
        r.add_argument("--journal", metavar="DIR", required=True)
        r.add_argument("--from", dest="start", metavar="T",
                       help="from this time (ISO-8601 or ns since the epoch), inclusive")
        r.add_argument("--to", dest="end", metavar="T", help="to this time, exclusive")
        r.add_argument("--account", metavar="A")
        r.add_argument("--symbol", metavar="S")
        r.add_argument("--format", choices=("csv", "jsonl"), default="csv")
        r.add_argument("-o", dest="out", metavar="FILE",
                       help="write here, with FILE.manifest.json beside it (default: stdout)")
        r.set_defaults(run=_report, kind=kind)
    rv = rep_sub.add_parser("verify", help="prove an export matches the journal")
    rv.add_argument("file", metavar="FILE")
    rv.add_argument("--journal", metavar="DIR", required=True)
    rv.set_defaults(run=_report_verify)

    lg = sub.add_parser("loadgen", help="drive a running FIX server with orders: throughput "
                                         "and round-trip latency")
    lg.add_argument("--config", metavar="FILE",
                    help="where the sessions, host and port come from (default: built in; "
                         "benchmarks/loadgen.toml has the same sessions)")
    lg.add_argument("--host", help="the server's address (default: [fix].host)")
    lg.add_argument("--port", type=int, help="the server's port (default: [fix].port)")
    lg.add_argument("--sessions", type=_count, default=1,
                    help="log on as the first N order-entry sessions of [fix] (default 1)")
    lg.add_argument("--sender", metavar="A,B", help="log on as these sessions instead")
    lg.add_argument("--password", action="append", default=[], metavar="SENDER=PW",
                    help="Password (554) of a session (FIRMA-MM=demo is known)")
    lg.add_argument("--rate", type=int, default=10_000,
                    help="requests a second in all, open loop (default 10,000); 0: as fast "
                         "as the answers come, --window outstanding per session")
    lg.add_argument("--window", type=_count, default=256,
                    help="outstanding requests per session with --rate 0 (default 256)")
    lg.add_argument("--duration", type=float, default=10.0, help="seconds (default 10)")
    lg.add_argument("--symbol", default="AAPL", help="instrument (default AAPL)")
    lg.add_argument("--mid", help="price the orders gather around (default: the symbol's "
                                  "[risk] reference_price)")
    lg.add_argument("--depth", type=_count, default=100,
                    help="resting orders per session, at most (default 100)")
    lg.add_argument("--seed", type=int, default=1)
    lg.add_argument("--stats", metavar="FILE",
                    help="the server's `oms serve --stats FILE`: report its internal latency "
                         "over the run")
    lg.add_argument("--json", action="store_true",
                    help="also print the figures as one JSON object (last line)")
    lg.set_defaults(run=_loadgen)

    cfg = sub.add_parser("config", help="check a configuration and show the venue")
    cfg.add_argument("file", nargs="?", help="TOML file (default: the built-in venue)")
    cfg.set_defaults(run=_config)
    return p


def _count(text: str) -> int:
    try:
        n = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def reference_data(config: str | None, tick: str | None) -> ReferenceData:
    """The venue of a command: `--tick` (open-ended), `--config FILE`, or built-in."""
    if tick is not None:
        try:
            return ReferenceData.any_symbol(Tick.parse(tick))
        except PriceError as exc:
            raise CliError(f"--tick: {exc}") from None
    return ReferenceData.from_config(load_config(config))


def _replay(args) -> int:
    if args.format == "lobster":
        from .lobster import run as run_lobster
        if len(args.orderbook) != len(args.flow):
            raise CliError("--format lobster needs one --orderbook file per message file")
        if args.dask:
            try:
                import distributed  # noqa: F401
            except ImportError:
                raise CliError("--dask needs the distributed package: "
                               "pip install 'oms-engine[distributed]'") from None
        return run_lobster(args.flow, args.orderbook, args.levels, args.json, args.match,
                           args.check, out=sys.stdout, workers=args.workers, dask=args.dask)
    if len(args.flow) != 1:
        raise CliError("a CSV replay takes one FLOW.csv")
    args.flow = args.flow[0]
    from .replay import FlowError, run_file, summary
    ref = reference_data(args.config, args.tick)
    config = None if args.tick is not None else load_config(args.config)
    try:
        result = run_file(args.flow, ref, args.trades_out, args.book_out, config=config,
                          rejects_out=args.rejects_out, journal=args.journal,
                          durability=args.durability, tick=args.tick)
    except FlowError as exc:
        raise CliError(f"{args.flow}: {exc}") from None
    except OSError as exc:
        raise CliError(f"cannot write {exc.filename}: {exc.strerror}") from None
    print(summary(result))
    return 0


def _bench_all(args) -> int:
    from .bench_all import run
    return run("quick" if args.quick else "full", args.lobster, args.out, args.json)


def _serve(args) -> int:
    from reporting.reader import JournalError

    from .serve import run
    if args.config and args.profile != "default":
        raise CliError("--config goes with the default profile; the acceptance profiles are "
                       "built in")
    try:
        return run(args.config, args.profile, args.host, args.port, args.journal,
                   args.durability, args.stats)
    except JournalError as exc:
        raise CliError(f"the journal cannot be trusted, refusing to start: {exc}") from None
    except OSError as exc:
        raise CliError(f"cannot listen: {exc.strerror or exc}") from None


def _client(args) -> int:
    from .client import run
    return run(args.host, args.port, args.sender, args.target, f"FIX.{args.fix}",
               args.password, sys.stdin)


def _demo(args) -> int:
    from .demo import run_demo
    return run_demo(args.orders)


def _progress():
    """A benchmark's progress messages, on a terminal's stderr only."""
    if not sys.stderr.isatty():
        return None
    return lambda msg: print(f"... {msg}", file=sys.stderr, flush=True)


def _bench_book(args) -> int:
    from .bench import main as bench_main
    progress = _progress()
    return bench_main(args.orders, args.deep, args.json, args.seed, args.reference_limit,
                      progress)


def _risk_show(args) -> int:
    from .replay import FlowError
    from .risk_show import build_gate, gate_of_journal, show
    if args.journal is not None:
        if args.flow is not None:
            raise CliError("give --flow or --journal, not both")
        from reporting.reader import JournalError
        try:
            gate = gate_of_journal(args.journal, args.config and load_config(args.config))
        except JournalError as exc:
            print(f"oms: journal {args.journal}: {exc}", file=sys.stderr)
            return 1
    else:
        try:
            gate = build_gate(load_config(args.config), args.flow)
        except FlowError as exc:
            raise CliError(f"{args.flow}: {exc}") from None
    show(gate, args.json)
    return 0


def _bench_risk(args) -> int:
    from .bench_risk import main as bench_main
    progress = _progress()
    return bench_main(args.orders, args.json, args.seed, progress)


def _report(args) -> int:
    from reporting.exports import Filters, make_report, write_report
    from reporting.reader import JournalError
    filters = Filters(_time_arg(args.start, "--from"), _time_arg(args.end, "--to"),
                      args.account, args.symbol)
    try:
        from .journal_cli import progress_bar
        data, manifest = make_report(args.kind, args.journal, args.format, filters,
                                     progress=progress_bar("reading the journal"))
    except JournalError as exc:
        print(f"oms: journal {args.journal}: {exc}", file=sys.stderr)
        return 1
    if args.out:
        try:
            write_report(args.out, data, manifest)
        except OSError as exc:
            raise CliError(f"cannot write {exc.filename}: {exc.strerror}") from None
        print(f"{args.out}: {manifest['rows']} rows from {manifest['records']} records, chain "
              f"head {manifest['chain_head']}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
    return 0


def _report_verify(args) -> int:
    from reporting.exports import verify_export
    from reporting.reader import JournalError
    try:
        problems = verify_export(args.file, args.journal)
    except JournalError as exc:
        print(f"oms: journal {args.journal}: {exc}", file=sys.stderr)
        return 1
    if problems:
        for p in problems:
            print(f"oms: {args.file}: {p}", file=sys.stderr)
        return 1
    print(f"{args.file}: matches the journal {args.journal}")
    return 0


def _time_arg(text: str | None, flag: str) -> int | None:
    if text is None:
        return None
    from .replay import BadLine, parse_time
    try:
        return parse_time(text)
    except BadLine as exc:
        raise CliError(f"{flag}: {exc}") from None


def _journal(what: str, directory: str, **options) -> int:
    from . import journal_cli
    return getattr(journal_cli, what)(directory, **options)


def _bench_journal(args) -> int:
    from .bench_journal import main as bench_main
    progress = _progress()
    return bench_main(args.records, args.always_records, args.dir, args.json, progress)


def _loadgen(args) -> int:
    from .loadgen import LoadgenError, Options, default_host_port, main, sessions_of
    cfg = load_config(args.config)
    if args.symbol not in cfg.instruments:
        raise CliError(f"--symbol: {args.symbol!r} is not an instrument of {cfg.source}")
    mid = args.mid or cfg.risk.get("instruments", {}).get(args.symbol, {}).get(
        "reference_price")
    if mid is None:
        raise CliError(f"--mid: {args.symbol} has no reference_price in {cfg.source}; give one")
    passwords = {}
    for item in args.password:
        name, eq, password = item.partition("=")
        if not eq:
            raise CliError(f"--password: expected SENDER=PASSWORD, got {item!r}")
        passwords[name] = password
    host, port, target = default_host_port(cfg)
    ins = cfg.instruments[args.symbol]
    try:
        senders = args.sender.split(",") if args.sender else None
        opts = Options(host=args.host or host, port=port if args.port is None else args.port,
                       target=target, sessions=sessions_of(cfg, senders, args.sessions,
                                                           passwords),
                       rate=args.rate, duration=args.duration, window=args.window,
                       depth=args.depth, symbol=args.symbol, tick=str(ins.tick), lot=ins.lot,
                       mid=str(mid), seed=args.seed, stats_path=args.stats)
        return main(opts, args.json)
    except LoadgenError as exc:
        raise CliError(str(exc)) from None


def _config(args) -> int:
    cfg = load_config(args.file)
    ref = ReferenceData.from_config(cfg)
    print(f"{cfg.source}: {ref.instrument_count} instruments, {ref.account_count} accounts")
    for b, symbol in enumerate(ref.symbols()):
        ins = cfg.instruments[symbol]
        band = ("no band" if ins.band_lo is None else
                f"band {ref.ticks_to_price(b, ins.band_lo)}..{ref.ticks_to_price(b, ins.band_hi)}")
        print(f"  {symbol:<10} tick {ins.tick}  lot {ins.lot}  {band}  {ins.currency}")
    for name, acc in cfg.accounts.items():
        group = f"  group {acc.stp_group}" if acc.stp_group else ""
        print(f"  {name:<10} stp {acc.stp.name.lower()}{group}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
