"""The session layer in memory: a fake link, an injected clock, transcripts.

The QuickFIX acceptance scripts (`test_fix_acceptance.py`) judge the session
over sockets; these check what they cannot see: the store on disk across a
restart, and the timer.
"""
from fix_gateway.codec import decode, encode, utc_timestamp
from fix_gateway.session import NS, Session, SessionSettings
from fix_gateway.store import MessageStore

T0 = 1_795_600_000_000_000_000
SETTINGS = SessionSettings("FIX.4.4", "OMS", "ALICE", account="ALICE")


class Link:
    def __init__(self):
        self.sent: list = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.sent.append(decode(data))

    def close(self) -> None:
        self.closed = True


def msg(mt: bytes, seq: int, *body, now=T0, extra=()):
    head = [(34, seq), (49, b"ALICE"), (52, utc_timestamp(now)), (56, b"OMS"), *extra]
    return decode(encode(b"FIX.4.4", mt, sorted(head) + list(body)))


def logon(session, seq=1, now=T0, reset=False):
    link = Link()
    assert session.attach(link, now)
    body = [(98, 0), (108, 30)] + ([(141, b"Y")] if reset else [])
    session.on_message(msg(b"A", seq, *body, now=now), now)
    return link


def test_sequence_numbers_and_sent_messages_survive_a_restart(tmp_path):
    store = MessageStore(tmp_path, "alice")
    s = Session(SETTINGS, store)
    link = logon(s)
    s.send(b"8", [(11, b"C1"), (150, b"0")], T0)
    s.send(b"8", [(11, b"C2"), (150, b"0")], T0)
    assert [m.get(34) for m in link.sent] == [b"1", b"2", b"3"]
    s.disconnect(T0)
    store.close()

    s = Session(SETTINGS, MessageStore(tmp_path, "alice"))      # a new process
    assert (s.store.next_sender, s.store.next_target) == (4, 2)
    link = logon(s, seq=2)
    assert link.sent[0].msg_type == b"A" and link.sent[0].get(34) == b"4"
    s.on_message(msg(b"2", 3, (7, 1), (16, 0)), T0)
    resent = link.sent[1:]
    assert [(m.msg_type, m.get(34), m.get(43)) for m in resent] == [
        (b"4", b"1", b"Y"), (b"8", b"2", b"Y"), (b"8", b"3", b"Y"), (b"4", b"4", b"Y")]
    assert resent[1].get(11) == b"C1" and resent[1].get(122) is not None


def test_a_torn_last_message_in_the_store_is_dropped(tmp_path):
    store = MessageStore(tmp_path, "alice")
    s = Session(SETTINGS, store)
    logon(s)
    s.send(b"8", [(11, b"C1")], T0)
    store.close()
    body = tmp_path / "alice.body"
    body.write_bytes(body.read_bytes()[:-5])
    again = MessageStore(tmp_path, "alice")
    assert [seq for seq, _ in again.sent(1, 10)] == [1]


def test_heartbeat_then_test_request_then_disconnect():
    s = Session(SETTINGS)
    link = logon(s)
    s.on_timer(T0 + 29 * NS)
    assert len(link.sent) == 1                          # within the interval: nothing
    s.on_timer(T0 + 30 * NS)
    assert link.sent[-1].msg_type == b"0"               # our heartbeat
    s.on_timer(T0 + 45 * NS)
    assert link.sent[-1].msg_type == b"1" and link.sent[-1].get(112) == b"TEST"
    s.on_timer(T0 + 72 * NS)                            # 2.4 intervals of silence
    assert link.closed and s.link is None


def test_a_wrong_password_gets_no_answer():
    import hashlib
    guarded = SessionSettings("FIX.4.4", "OMS", "ALICE", account="ALICE",
                              password_sha256=hashlib.sha256(b"right").hexdigest())
    s = Session(guarded)
    link = Link()
    s.attach(link, T0)
    s.on_message(msg(b"A", 1, (98, 0), (108, 30), (554, b"wrong")), T0)
    assert link.sent == [] and link.closed
    s = Session(guarded)
    link = Link()
    s.attach(link, T0)
    s.on_message(msg(b"A", 1, (98, 0), (108, 30), (554, b"right")), T0)
    assert link.sent[0].msg_type == b"A" and not link.closed


def test_application_message_without_target_comp_id_is_a_business_reject():
    s = Session(SETTINGS)
    link = logon(s)
    raw = encode(b"FIX.4.4", b"D", [(34, 2), (49, b"ALICE"), (52, utc_timestamp(T0)),
                                    (11, b"C1"), (21, b"1"), (40, b"1"), (54, b"1"),
                                    (55, b"AAPL"), (60, utc_timestamp(T0))])
    s.on_message(decode(raw), T0)
    answer = link.sent[-1]
    assert (answer.msg_type, answer.get(380), answer.get(45)) == (b"j", b"5", b"2")
    assert s.store.next_target == 3
