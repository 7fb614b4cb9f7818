"""`EchoApplication`: a test-only application that answers as QuickFIX's
acceptance-test application does, so that the whole QuickFIX acceptance
suite can judge our session layer (``oms serve --profile acceptance-echo``).

It echoes each NewOrderSingle back on its session, except a PossResend one
(97=Y) whose ClOrdID it has seen since the session last logged on; it echoes
SecurityDefinition and Email; anything else gets a BusinessMessageReject
"Unsupported Message Type". It never reaches the engine.
"""
from __future__ import annotations

from .codec import FixMessage
from .session import HEADER_TAGS, Session, _tag

ECHOED = frozenset((b"D", b"d", b"C"))
_NOT_ECHOED = HEADER_TAGS | {10, 43, 122}     # the session writes a header of its own


class EchoApplication:
    def __init__(self, clock):
        self.clock = clock
        self._seen: dict[str, set[bytes]] = {}

    def on_logon(self, session: Session) -> None:
        self._seen[session.name] = set()

    def on_application(self, session: Session, msg: FixMessage) -> None:
        now = self.clock()
        if msg.msg_type not in ECHOED:
            session.business_reject(msg, 3, "Unsupported Message Type", now)
            return
        if msg.msg_type == b"D":
            seen = self._seen.setdefault(session.name, set())
            cl_ord_id = msg.get(11)
            if msg.get(97) == b"Y" and cl_ord_id in seen:
                return
            seen.add(cl_ord_id)
        header = [(tag, value) for tag, value in msg.fields if tag == 97]
        body = sorted(((tag, value) for tag, value in msg.fields if tag not in _NOT_ECHOED),
                      key=_tag)
        session.send(msg.msg_type, body, now, header)
