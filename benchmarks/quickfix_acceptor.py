"""The peer for `oms loadgen`: QuickFIX's own acceptor, answering orders.

QuickFIX (the C++ engine, through its Python binding) does the sockets, the
session layer (logon, sequence numbers, heartbeats, the data dictionary's
validation of every inbound message) and a file store of every message, as
our gateway does. The application here is the least an order gateway can
do: every NewOrderSingle is answered with an ExecutionReport New and every
OrderCancelRequest with an ExecutionReport Canceled. There is no book, no
risk check and no journal behind it, so it is a floor for a Python
application on QuickFIX, not a rival order management system.

The sessions are our default venue's: SenderCompID OMS, TargetCompIDs ALICE,
BOB and FIRMA-MM on FIX.4.4 and FIRMA-ARB on FIX.4.2 (passwords are not
checked), ResetOnLogon, with the data dictionaries in fix_gateway/spec/ (the
ones QuickFIX ships). The store and logs go to a temporary folder removed on
exit.

QuickFIX is not a dependency of this project; it lives in its own virtual
environment (`pip install quickfix` builds it from source, several minutes):

    python3 -m venv /tmp/qfvenv && /tmp/qfvenv/bin/pip install quickfix
    /tmp/qfvenv/bin/python benchmarks/quickfix_acceptor.py --port 9879 &
    oms loadgen --port 9879 --rate 10000 --duration 10

It prints one line when it listens and serves until SIGTERM or SIGINT.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
from importlib.metadata import version
from itertools import count
from pathlib import Path

import quickfix as fix

SPEC = Path(__file__).resolve().parent.parent / "fix_gateway" / "spec"
SESSIONS = (("FIX.4.4", "ALICE"), ("FIX.4.4", "BOB"), ("FIX.4.4", "FIRMA-MM"),
            ("FIX.4.2", "FIRMA-ARB"))
SENDER = "OMS"

# tags
ACCOUNT, AVG_PX, CL_ORD_ID, CUM_QTY, EXEC_ID, EXEC_TRANS_TYPE = 1, 6, 11, 14, 17, 20
ORDER_ID, ORDER_QTY, ORD_STATUS, ORIG_CL_ORD_ID, PRICE, SIDE, SYMBOL = 37, 38, 39, 41, 44, 54, 55
ORD_TYPE, TIME_IN_FORCE, EXEC_TYPE, LEAVES_QTY = 40, 59, 150, 151
ECHOED = (ACCOUNT, ORDER_QTY, ORD_TYPE, PRICE, TIME_IN_FORCE)


class Application(fix.Application):
    """New orders are acknowledged New, cancels are Canceled; nothing else."""

    def __init__(self):
        super().__init__()
        self.ids = count(1)

    def onCreate(self, session_id):
        pass

    def onLogon(self, session_id):
        pass

    def onLogout(self, session_id):
        pass

    def toAdmin(self, message, session_id):
        pass

    def fromAdmin(self, message, session_id):
        pass

    def toApp(self, message, session_id):
        pass

    def fromApp(self, message, session_id):
        msg_type = message.getHeader().getField(fix.MsgType().getField())
        if msg_type == "D":
            self._report(message, session_id, "0", message.getField(ORDER_QTY), None)
        elif msg_type == "F":
            self._report(message, session_id, "4", "0", message.getField(ORIG_CL_ORD_ID))

    def _report(self, order, session_id, status: str, leaves: str, orig: str | None) -> None:
        n = next(self.ids)
        report = fix.Message()
        report.getHeader().setField(fix.MsgType("8"))
        report.setField(fix.StringField(ORDER_ID, str(n)))
        report.setField(fix.StringField(EXEC_ID, str(n)))
        if session_id.getBeginString().getValue() == "FIX.4.2":
            report.setField(fix.StringField(EXEC_TRANS_TYPE, "0"))
        report.setField(fix.StringField(EXEC_TYPE, status))
        report.setField(fix.StringField(ORD_STATUS, status))
        report.setField(fix.StringField(CL_ORD_ID, order.getField(CL_ORD_ID)))
        if orig is not None:
            report.setField(fix.StringField(ORIG_CL_ORD_ID, orig))
        for tag in ECHOED:
            if order.isSetField(tag):
                report.setField(fix.StringField(tag, order.getField(tag)))
        report.setField(fix.StringField(SIDE, order.getField(SIDE)))
        report.setField(fix.StringField(SYMBOL, order.getField(SYMBOL)))
        report.setField(fix.StringField(LEAVES_QTY, leaves))
        report.setField(fix.StringField(CUM_QTY, "0"))
        report.setField(fix.StringField(AVG_PX, "0"))
        fix.Session.sendToTarget(report, session_id)


def settings_text(port: int, folder: Path) -> str:
    lines = ["[DEFAULT]", "ConnectionType=acceptor", f"SocketAcceptPort={port}",
             "SocketReuseAddress=Y", "SocketNodelay=Y", f"SenderCompID={SENDER}",
             "StartTime=00:00:00", "EndTime=00:00:00", "ResetOnLogon=Y",
             "UseDataDictionary=Y", "HeartBtInt=30", f"FileStorePath={folder / 'store'}",
             f"FileLogPath={folder / 'log'}"]
    for begin_string, target in SESSIONS:
        spec = SPEC / ("FIX44.xml" if begin_string == "FIX.4.4" else "FIX42.xml")
        lines += ["", "[SESSION]", f"BeginString={begin_string}", f"TargetCompID={target}",
                  f"DataDictionary={spec}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=9879, help="TCP port (default 9879)")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="quickfix-acceptor-"))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        config = folder / "acceptor.cfg"
        config.write_text(settings_text(args.port, folder))
        settings = fix.SessionSettings(str(config))
        app = Application()
        acceptor = fix.SocketAcceptor(app, fix.FileStoreFactory(settings), settings)
        acceptor.start()
        print(f"quickfix acceptor: QuickFIX {version('quickfix')} listening on "
              f"0.0.0.0:{args.port}; sessions "
              f"{', '.join(f'{v}:{SENDER}->{t}' for v, t in SESSIONS)}", flush=True)
        while not stop.wait(0.2):       # the handler runs in this thread, between waits
            pass
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    # Not acceptor.stop(): in quickfix 1.16.0's Python binding it crashes
    # (SIGSEGV) once sessions have been used. The store is thrown away and
    # the client has logged out, so leaving at once loses nothing.
    print("quickfix acceptor: stopped", flush=True)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
