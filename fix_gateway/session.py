"""`Session`: one FIX 4.2 / 4.4 session, the acceptor's side. It knows nothing of orders.

It does what the FIX session protocol asks of an acceptor: Logon and Logout,
Heartbeat and TestRequest, MsgSeqNum checks with the queueing of messages
that arrive early, ResendRequest answered from the `MessageStore`
(application messages again with PossDupFlag and OrigSendingTime, admin
messages as SequenceReset-GapFill), SequenceReset in both modes, PossDup,
SendingTime accuracy, CompID and BeginString checks, and validation of every
message against the standard data dictionary (`fix_gateway.dictionary`),
answering with a Reject that names the reason and the tag.

Where the specification leaves a choice, it does what QuickFIX does, because
QuickFIX's acceptance scripts judge it and traders' engines expect it: the
order of the checks, which of them log out, which disconnect, the texts.

Application messages go to `on_application(session, message)` once checked;
whatever it sends back goes through `send`. Time comes in with every call
(`now`, ns since the epoch), so a transcript replays the same way.

The session outlives its connection: the sequence numbers and the sent
messages stay in its store, and a new connection attaches to it.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Callable, Protocol

import msgspec

from .codec import (FixMessage, body_fields, decode, encode, parse_utc_timestamp, seal,
                    utc_timestamp)
from .dictionary import Dictionary
from .store import MessageStore

NS = 1_000_000_000
MAX_QUEUED = 10_000     # messages held for a gap; a client that sends more is logged out
ADMIN = frozenset((b"0", b"1", b"2", b"3", b"4", b"5", b"A"))
# standard header tags of FIX 4.2 / 4.4 (the stored messages are split with it)
HEADER_TAGS = frozenset((8, 9, 35, 49, 56, 115, 128, 90, 91, 34, 50, 142, 57, 143, 116, 144,
                         129, 145, 43, 97, 52, 122, 212, 213, 347, 369, 370, 627, 628, 629, 630,
                         1128, 1129))
# what may leave before the session is logged on (QuickFIX's rule)
_SENT_BEFORE_LOGON = frozenset((b"A", b"5", b"2", b"4"))
# everything but the body: the header and the trailer
NOT_BODY = HEADER_TAGS | {93, 89, 10}
_RESENT_HEADER = frozenset((8, 9, 35, 10, 34, 43, 49, 52, 56, 122))
# inbound routing tag -> the tag that carries it back (OnBehalfOf -> DeliverTo, ...)
_REVERSE_ROUTE = ((115, 128), (128, 115), (116, 129), (129, 116), (144, 145), (145, 144))

# SessionRejectReason (373)
INVALID_TAG_NUMBER = 0
REQUIRED_TAG_MISSING = 1
VALUE_IS_INCORRECT = 5
COMPID_PROBLEM = 9
SENDINGTIME_ACCURACY_PROBLEM = 10
INVALID_MSGTYPE = 11
REJECT_TEXT = {
    0: "Invalid tag number", 1: "Required tag missing",
    2: "Tag not defined for this message type", 3: "Undefined Tag",
    4: "Tag specified without a value", 5: "Value is incorrect (out of range) for this tag",
    6: "Incorrect data format for value", 7: "Decryption problem", 8: "Signature problem",
    9: "CompID problem", 10: "SendingTime accuracy problem", 11: "Invalid MsgType",
    13: "Tag appears more than once", 14: "Tag specified out of required order",
    15: "Repeating group fields out of order",
    16: "Incorrect NumInGroup count for repeating group",
}


class SessionSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One session as configured: who may log on and what it may do."""
    begin_string: str                 # "FIX.4.2" or "FIX.4.4"
    sender_comp_id: str               # ours
    target_comp_id: str               # the counterparty's
    account: str | None = None        # the engine account its orders act for
    password_sha256: str | None = None   # hex SHA-256 of Password (554), checked at Logon
    reset_on_logon: bool = False
    cancel_on_disconnect: bool = False
    drop_copy: list[str] = []         # read-only: receives the ExecutionReports of these accounts
    max_latency: int = 120            # SendingTime accuracy, seconds
    logout_timeout: int = 2           # seconds to wait for the answer to our Logout

    @property
    def name(self) -> str:
        return f"{self.begin_string}:{self.sender_comp_id}->{self.target_comp_id}"


class Link(Protocol):
    """The connection a session talks through (`fix_gateway.acceptor`)."""

    def write(self, data: bytes) -> None: ...
    def close(self) -> None: ...


class Session:
    def __init__(self, settings: SessionSettings, store: MessageStore | None = None, *,
                 on_application: Callable[[Session, FixMessage], None] | None = None,
                 on_logon: Callable[[Session], None] | None = None,
                 on_logout: Callable[[Session], None] | None = None,
                 on_reset: Callable[[Session, FixMessage, int], None] | None = None):
        self.settings = settings
        self.name = settings.name
        self.begin_string = settings.begin_string.encode()
        self.sender = settings.sender_comp_id.encode()
        self.target = settings.target_comp_id.encode()
        # MsgType, MsgSeqNum, SenderCompID, SendingTime, TargetCompID
        self._head = (b"35=%b\x0134=%d\x0149=" + self.sender.replace(b"%", b"%%")
                      + b"\x0152=%b\x0156=" + self.target.replace(b"%", b"%%") + b"\x01")
        self.dictionary = Dictionary.for_version(settings.begin_string)
        self.fix42 = settings.begin_string == "FIX.4.2"
        self.store = store if store is not None else MessageStore(None, self.name)
        self.on_application = on_application
        self.on_logon = on_logon
        self.on_logout = on_logout
        self.on_reset = on_reset      # (session, the Logon, now): both numbers back to 1
        self.link: Link | None = None
        self.heart_bt_int = 0
        self._reset_state(0)

    def _reset_state(self, now: int) -> None:
        self.received_logon = self.sent_logon = self.sent_logout = False
        self.received_reset = False
        self.last_sent = self.last_received = now
        self.logout_sent_at = 0
        self.test_requests = 0
        self.queue: dict[int, FixMessage] = {}
        self.resend_range: tuple[int, int] | None = None

    @property
    def logged_on(self) -> bool:
        return self.received_logon and self.sent_logon

    @property
    def next_target(self) -> int:
        return self.store.next_target

    # ------------------------------------------------------------ connection

    def attach(self, link: Link, now: int) -> bool:
        """Bind a new connection; False if one is bound already (a second
        logon for a session that is in use is refused)."""
        if self.link is not None:
            return False
        self.link = link
        self._reset_state(now)
        return True

    def disconnect(self, now: int) -> None:
        """Drop the connection; the sequence numbers and sent messages stay."""
        link, self.link = self.link, None
        was_on = self.received_logon or self.sent_logon
        self._reset_state(now)
        if link is not None:
            link.close()
        if was_on and self.on_logout is not None:
            self.on_logout(self)

    # ------------------------------------------------------------ sending

    def send(self, msg_type: bytes, body: list | bytes, now: int, header: list = ()) -> int:
        """Send an application (or admin) message with the next MsgSeqNum; it is
        stored for resends even when no connection is logged on. `body` is a
        list of (tag, value) or already encoded fields (`codec.encode_body`).
        Returns the number."""
        seq = self.store.next_sender
        if type(body) is bytes and not header:
            raw = seal(self.begin_string, self._head % (msg_type, seq, utc_timestamp(now)) + body)
        else:
            raw = self._encode(msg_type, seq, now, body, header)
        self.store.add_sent(seq, raw)
        if self.link is not None and (self.logged_on or msg_type in _SENT_BEFORE_LOGON):
            self.link.write(raw)
            self.last_sent = now
        return seq

    def _encode(self, msg_type: bytes, seq: int, now: int, body, header=()) -> bytes:
        head = [(34, seq), (49, self.sender), (52, utc_timestamp(now)), (56, self.target)]
        if header:
            head.extend(header)
            head.sort(key=_tag)
        head.extend(body_fields(body) if type(body) is bytes else body)
        return encode(self.begin_string, msg_type, head)

    def _send_unstored(self, msg_type: bytes, seq: int, body: list, now: int,
                       header: list) -> None:
        """A resent message or a gap fill: an old number, not stored again."""
        if self.link is not None:
            self.link.write(self._encode(msg_type, seq, now, body, header))
            self.last_sent = now

    def _logout(self, now: int, text: str | None = None) -> None:
        self.send(b"5", [(58, text)] if text else [], now)
        self.sent_logout = True
        self.logout_sent_at = now

    def _heartbeat(self, now: int, test_req_id: bytes | None = None) -> None:
        self.send(b"0", [(112, test_req_id)] if test_req_id is not None else [], now)

    def reject(self, msg: FixMessage, reason: int, tag: int | None, now: int,
               text: str | None = None) -> None:
        """A session-level Reject (35=3) of `msg`, with its routing reversed."""
        mt = msg.msg_type
        seq = msg.get(34)
        body = []
        if seq:
            body.append((45, seq))
        body.append((58, text or REJECT_TEXT.get(reason, "")))
        if tag is not None:
            body.append((371, tag))
        if mt:
            body.append((372, mt))
        if not self.fix42 or reason <= INVALID_MSGTYPE:
            body.append((373, reason))
        if mt not in (b"A", b"4") and _number(seq) == self.store.next_target:
            self.store.incr_next_target()
        self.send(b"3", body, now, _reversed_route(msg))

    def business_reject(self, msg: FixMessage, reason: int, text: str, now: int) -> None:
        """A BusinessMessageReject (35=j) of an application message."""
        self.send(b"j", [(45, msg.get(34) or b"0"), (58, text), (372, msg.msg_type),
                         (380, reason)], now)

    # ------------------------------------------------------------ receiving

    def on_garbled(self, raw: bytes, now: int) -> None:
        """Bytes that are not a valid message are ignored; an invalid Logon
        ends the connection."""
        if not self.received_logon:
            self.disconnect(now)

    def on_message(self, msg: FixMessage, now: int) -> None:
        self._next(msg, now, queued=False)

    def _next(self, msg: FixMessage, now: int, queued: bool) -> None:
        mt = msg.msg_type
        if not self.received_logon and mt != b"A":
            self.disconnect(now)                 # the first message must be a Logon
            return
        if msg.get(8) != self.begin_string:
            if mt == b"5":
                self._next_logout(msg, now)
            else:
                self._logout(now, "Incorrect BeginString")
                self.store.incr_next_target()
            return
        if mt not in ADMIN and (msg.get(49) is None or msg.get(56) is None):
            # QuickFIX reads the CompIDs before it validates: an application
            # message without them is a business-level reject
            missing = 49 if msg.get(49) is None else 56
            self.store.incr_next_target()
            self.business_reject(msg, 5, f"Conditionally Required Field Missing ({missing})",
                                 now)
            return
        problem = self.dictionary.validate(msg.fields, mt)
        if problem is not None:
            if mt == b"A" and not self.received_logon:
                self.disconnect(now)
                return
            self.reject(msg, problem.reason, problem.tag, now, problem.text)
        elif mt == b"A":
            self._next_logon(msg, now)
        elif mt == b"0":
            if self._verify(msg, now, True, True):
                self.store.incr_next_target()
        elif mt == b"1":
            if self._verify(msg, now, True, True):
                self._heartbeat(now, msg.get(112))
                self.store.incr_next_target()
        elif mt == b"4":
            self._next_sequence_reset(msg, now)
        elif mt == b"5":
            self._next_logout(msg, now)
        elif mt == b"2":
            self._next_resend_request(msg, now)
        elif mt == b"3":
            if self._verify(msg, now, False, True):
                self.store.incr_next_target()
        elif self._verify(msg, now, True, True):
            self.store.incr_next_target()
            if self.on_application is not None:
                self.on_application(self, msg)
            else:
                self.business_reject(msg, 3, "Unsupported Message Type", now)
        if not queued and self.link is not None:
            self._next_queued(now)

    def _next_queued(self, now: int) -> None:
        while self.link is not None:
            msg = self.queue.pop(self.store.next_target, None)
            if msg is None:
                return
            if msg.msg_type in (b"A", b"2"):
                self.store.incr_next_target()
            else:
                self._next(msg, now, queued=True)

    def _verify(self, msg: FixMessage, now: int, check_high: bool, check_low: bool) -> bool:
        """The checks every message passes before it counts (QuickFIX's order):
        logon state, SendingTime, CompIDs, then MsgSeqNum too high (queued,
        ResendRequest) or too low (Logout, unless PossDup)."""
        mt = msg.msg_type
        sender, target, sending_time = msg.get(49), msg.get(56), msg.get(52)
        seq_text = msg.get(34)
        seq = _number(seq_text)
        if (sender is None or target is None or sending_time is None or seq is None
                or not self._valid_logon_state(mt)):
            self.disconnect(now)
            return False
        if not self._good_time(sending_time, now):
            self.reject(msg, SENDINGTIME_ACCURACY_PROBLEM, None, now)
            self._logout(now)
            return False
        if sender != self.target or target != self.sender:
            self.reject(msg, COMPID_PROBLEM, None, now)
            self._logout(now)
            return False
        expected = self.store.next_target
        if check_high and seq > expected:
            self._too_high(msg, seq, now)
            return False
        if check_low and seq < expected:
            self._too_low(msg, seq, now)
            return False
        if (check_high or check_low) and self.resend_range and seq >= self.resend_range[1]:
            self.resend_range = None             # the gap we asked for is filled
        self.last_received = now
        self.test_requests = 0
        return True

    def _valid_logon_state(self, mt: bytes) -> bool:
        if self.received_reset:
            return True
        if (mt == b"A") != self.received_logon:
            return True
        if mt == b"5" and self.sent_logon:
            return True
        if mt != b"5" and self.sent_logout:
            return True
        return mt in (b"4", b"3")

    def _good_time(self, sending_time: bytes, now: int) -> bool:
        ns = parse_utc_timestamp(sending_time)
        return ns is not None and abs(now - ns) <= self.settings.max_latency * NS

    def _too_high(self, msg: FixMessage, seq: int, now: int) -> None:
        if len(self.queue) >= MAX_QUEUED:
            self._logout(now, f"more than {MAX_QUEUED} messages ahead of MsgSeqNum "
                              f"{self.store.next_target}")
            self.disconnect(now)
            return
        self.queue[seq] = msg
        if self.resend_range is not None and seq >= self.resend_range[0]:
            return                               # already asked for this gap
        begin = self.store.next_target
        self.send(b"2", [(7, begin), (16, 0)], now)
        self.resend_range = (begin, seq - 1)

    def _too_low(self, msg: FixMessage, seq: int, now: int) -> None:
        if msg.get(43) != b"Y":
            text = f"MsgSeqNum too low, expecting {self.store.next_target} but received {seq}"
            self._logout(now, text)
            self.disconnect(now)
            return
        if msg.msg_type == b"4":
            return
        orig = msg.get(122)
        if orig is None:
            self.reject(msg, REQUIRED_TAG_MISSING, 122, now)
            return
        orig_ns, sent_ns = parse_utc_timestamp(orig), parse_utc_timestamp(msg.get(52))
        if orig_ns is None or sent_ns is None or orig_ns > sent_ns:
            self.reject(msg, SENDINGTIME_ACCURACY_PROBLEM, None, now)
            self._logout(now)

    # ------------------------------------------------------------ admin messages

    def _next_logon(self, msg: FixMessage, now: int) -> None:
        # a Logon that fails the identity or time checks gets no answer at all
        if (msg.get(49) != self.target or msg.get(56) != self.sender
                or not self._good_time(msg.get(52) or b"", now)
                or not self._password_ok(msg)):
            self.disconnect(now)
            return
        reset = msg.get(141) == b"Y"
        self.received_reset = reset
        if reset or self.settings.reset_on_logon:
            self.store.reset()
            if self.on_reset is not None:
                self.on_reset(self, msg, now)
        if not self._verify(msg, now, False, True):
            return
        self.received_logon = True
        hb = msg.get(108)
        self.heart_bt_int = _number(hb) or 30
        body = [(98, 0), (108, self.heart_bt_int)]
        if reset:
            body.append((141, b"Y"))
        self.sent_logon = True
        self.send(b"A", body, now)
        self.last_received = now
        self.test_requests = 0
        self.received_reset = False
        seq = _number(msg.get(34))
        if seq > self.store.next_target and not reset:
            self._too_high(msg, seq, now)
        else:
            self.store.incr_next_target()
        if self.on_logon is not None:
            self.on_logon(self)

    def _password_ok(self, msg: FixMessage) -> bool:
        want = self.settings.password_sha256
        if want is None:
            return True
        got = hashlib.sha256(msg.get(554) or b"").hexdigest()
        return hmac.compare_digest(got, want.lower())

    def _next_logout(self, msg: FixMessage, now: int) -> None:
        if not self._verify(msg, now, False, False):
            return
        if not self.sent_logout:
            self._logout(now)
        self.store.incr_next_target()
        self.disconnect(now)

    def _next_sequence_reset(self, msg: FixMessage, now: int) -> None:
        gap_fill = msg.get(123) == b"Y"
        if not self._verify(msg, now, gap_fill, gap_fill):
            return
        new_seq = _number(msg.get(36))
        if new_seq is None:
            return
        if new_seq > self.store.next_target:
            self.store.set_next_target(new_seq)
            for seq in [s for s in self.queue if s < new_seq]:
                del self.queue[seq]                     # passed over: never processed
        elif new_seq < self.store.next_target:
            self.reject(msg, VALUE_IS_INCORRECT, None, now)

    def _next_resend_request(self, msg: FixMessage, now: int) -> None:
        if not self._verify(msg, now, False, False):
            return
        begin, end = _number(msg.get(7)), _number(msg.get(16))
        next_sender = self.store.next_sender
        if end == 0 or (self.fix42 and end == 999999) or end >= next_sender:
            end = next_sender - 1
        gap_from = 0
        current = begin
        last = 0
        for seq, raw in self.store.sent(begin, end):
            if seq != current and not gap_from:
                gap_from = current
            old = decode(raw, check=False)
            if old.msg_type in ADMIN:
                if not gap_from:
                    gap_from = seq
            else:
                if gap_from:
                    self._gap_fill(gap_from, seq, now)
                self._resend(old, seq, now)
                gap_from = 0
            current = seq + 1
            last = seq
        if gap_from:
            self._gap_fill(gap_from, last + 1, now)
        if end > last and begin <= end:     # the store lacks the tail (a torn file)
            self._gap_fill(current, min(end + 1, next_sender), now)
        if _number(msg.get(34)) == self.store.next_target:
            self.store.incr_next_target()

    def _gap_fill(self, begin: int, new_seq: int, now: int) -> None:
        self._send_unstored(b"4", begin, [(36, new_seq), (123, b"Y")], now,
                            [(43, b"Y"), (122, utc_timestamp(now))])

    def _resend(self, old: FixMessage, seq: int, now: int) -> None:
        header = [(43, b"Y"), (122, old.get(52))]
        body = []
        for tag, value in old.fields:
            if tag in _RESENT_HEADER:
                continue
            (header if tag in HEADER_TAGS else body).append((tag, value))
        self._send_unstored(old.msg_type, seq, body, now, header)

    # ------------------------------------------------------------ timer

    def on_timer(self, now: int) -> None:
        """Heartbeats, TestRequests and timeouts; call it about every second."""
        if self.link is None or not self.received_logon:
            return
        if self.sent_logout and now - self.logout_sent_at >= self.settings.logout_timeout * NS:
            self.disconnect(now)
            return
        hb = self.heart_bt_int * NS
        if hb == 0:
            return
        quiet_in, quiet_out = now - self.last_received, now - self.last_sent
        if quiet_in < hb and quiet_out < hb:
            return
        if quiet_in >= 2.4 * hb:
            self.disconnect(now)
        elif quiet_in >= 1.5 * (self.test_requests + 1) * hb:
            self.send(b"1", [(112, b"TEST")], now)
            self.test_requests += 1
        elif quiet_out >= hb and self.test_requests == 0:
            self._heartbeat(now)


def _tag(field) -> int:
    return field[0]


def _number(text: bytes | None) -> int | None:
    """A non-negative integer field's value; None if it is not one or has more
    than 20 significant digits (never asks int() for thousands of digits)."""
    if not text or not text.isdigit():
        return None
    text = text.lstrip(b"0") or b"0"
    return int(text) if len(text) <= 20 else None


def _reversed_route(msg: FixMessage) -> list:
    route = []
    for inbound, outbound in _REVERSE_ROUTE:
        value = msg.get(inbound)
        if value:
            route.append((outbound, value))
    return route
