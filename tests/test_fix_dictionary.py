"""FIX 4.2 / 4.4 data dictionaries and session-level validation (`fix_gateway.dictionary`).

The expected Rejects are QuickFIX's answers (the acceptance scripts 14a-14i,
2q, ReverseRoute, RejectResentMessage ask for the same ones); messages are
written inline as "tag=value|..." text.
"""
import pytest

from fix_gateway.dictionary import (HEADER_ORDER, REJECT_TEXT, TRAILER_ORDER, Dictionary,
                                    SessionReject, _FORMATS)

VERSIONS = ("FIX.4.2", "FIX.4.4")
TS = "20240102-03:04:05.123"
NOS = f"11=ID|21=1|38=100|40=2|44=10.5|54=1|55=INTC|59=0|60={TS}"


def fields(text: str) -> list[tuple[int, bytes]]:
    return [(int(t), v.encode()) for t, _, v in (p.partition("=") for p in text.split("|"))]


def message(version: str, msg_type: str, body: str = "", header: str = "") -> list:
    """A message with the usual header and a CheckSum; 9 needs only to be a number here."""
    text = f"8={version}|9=99|35={msg_type}|34=2|49=TW|52={TS}|56=ISLD"
    text += "".join(f"|{part}" for part in (header, body) if part)
    return fields(text + "|10=000")


def check(version: str, msg_type: str, body: str = "", header: str = ""):
    return Dictionary.for_version(version).validate(message(version, msg_type, body, header),
                                                    msg_type.encode())


def raw(version: str, text: str):
    """Validate a message written out whole (for header and ordering faults)."""
    msg = fields(text.replace("{V}", version).replace("{TS}", TS))
    return Dictionary.for_version(version).validate(msg, dict(msg).get(35, b""))


def rej(reason: int, tag: int | None) -> SessionReject:
    return SessionReject(reason, tag, REJECT_TEXT[reason])


# --- the dictionaries as loaded -------------------------------------------------------

@pytest.mark.parametrize("version, n_fields, n_messages", [("FIX.4.2", 405, 46),
                                                          ("FIX.4.4", 912, 93)])
def test_loaded_sizes(version, n_fields, n_messages):
    d = Dictionary.for_version(version)
    assert d.begin_string == version
    assert (len(d.fields), len(d.messages)) == (n_fields, n_messages)
    assert len(d.header) == 27
    assert {t for t, required in d.header.items() if required} == {8, 9, 35, 34, 49, 52, 56}
    assert d.trailer == {93: False, 89: False, 10: True}


def test_header_and_trailer_order_constants():
    assert HEADER_ORDER == (8, 9, 35)          # BeginString, BodyLength, MsgType
    assert TRAILER_ORDER == (93, 89)           # SignatureLength, Signature; CheckSum last
    for version in VERSIONS:
        d = Dictionary.for_version(version)
        assert list(d.header)[:3] == list(HEADER_ORDER)
        assert list(d.trailer) == [*TRAILER_ORDER, 10]


def test_loaded_once_per_version_and_only_known_versions():
    assert Dictionary.for_version("FIX.4.4") is Dictionary.for_version("FIX.4.4")
    assert Dictionary.for_version("FIX.4.2") is not Dictionary.for_version("FIX.4.4")
    with pytest.raises(ValueError, match="FIX.4.3"):
        Dictionary.for_version("FIX.4.3")


def test_fields_messages_and_groups_as_quickfix_reads_them():
    d42, d44 = Dictionary.for_version("FIX.4.2"), Dictionary.for_version("FIX.4.4")
    assert d44.fields[38].name == "OrderQty" and d44.fields[38].type == "QTY"
    assert d44.fields[40].values >= {b"1", b"2"} and d44.fields[55].values is None
    nos42, nos44 = d42.messages[b"D"], d44.messages[b"D"]
    assert (nos44.name, nos44.category) == ("NewOrderSingle", "app")
    assert nos42.required == (11, 21, 40, 54, 55, 60)
    assert nos44.required == (11, 40, 54, 60)
    parties = nos44.groups[453]
    assert (parties.delimiter, parties.required) == (448, ())
    assert parties.groups[802].delimiter == 523           # nested PartySubIDs
    assert 448 not in nos44.fields and 453 in nos44.fields
    # members of a component inside a group are never required (4.2 has no components)
    assert d42.messages[b"V"].groups[146].required == (55,)
    assert d44.messages[b"V"].groups[146].required == ()
    assert d44.messages[b"i"].groups[296].required == (302, 304)
    assert d44.messages[b"i"].groups[296].groups[295].required == (299,)


@pytest.mark.parametrize("version", VERSIONS)
def test_dictionary_facts_the_fast_path_relies_on(version):
    d = Dictionary.for_version(version)

    def counts(groups):
        for tag, group in groups.items():
            yield tag
            yield from counts(group.groups)
    for msg in d.messages.values():
        assert set(msg.required) <= msg.fields
        assert not set(msg.required) & (set(d.header) | set(d.trailer))
        assert all(d.fields[t].type in ("INT", "NUMINGROUP") for t in counts(msg.groups))


@pytest.mark.parametrize("version", VERSIONS)
def test_msg_types_admin_and_reject_reasons(version):
    d = Dictionary.for_version(version)
    assert d.has_msg_type(b"D") and d.has_msg_type(b"A") and not d.has_msg_type(b"*")
    assert all(d.is_admin(m) for m in (b"0", b"1", b"2", b"3", b"4", b"5", b"A"))
    assert not d.is_admin(b"D") and not d.is_admin(b"n")
    assert d.defines_reject_reason(11)
    # FIX 4.2's SessionRejectReason stops at 11: QuickFIX leaves 373 out for 13, 14, 16
    assert d.defines_reject_reason(13) == d.defines_reject_reason(16) == (version == "FIX.4.4")


# --- messages that pass ---------------------------------------------------------------

VALID = {
    "FIX.4.2": [
        ("0", ""), ("1", "112=HELLO"), ("A", "98=0|108=30"), ("4", "36=5|123=Y"),
        ("D", NOS), ("D", NOS + "|18=1 G|386=2|336=PRE|336=POST"),
        ("8", "6=0|14=0|17=E1|20=0|37=O1|39=0|54=1|55=INTC|150=0|151=100|11=ID|38=100"),
        ("d", "320=R1|322=S1|323=6|55=TBS|22=8|167=OPT|336=ONE_MAIN|393=0|146=0"),
        ("V", "262=M1|263=1|264=0|267=2|269=0|269=1|146=1|55=INTC"),
        ("i", "117=Q1|296=1|302=S1|311=U|304=1|295=1|299=E1"),
    ],
    "FIX.4.4": [
        ("0", ""), ("1", "112=HELLO"), ("A", "98=0|108=30|141=Y"), ("4", "36=5|123=Y"),
        ("D", NOS), ("D", NOS + "|18=1 G|453=2|448=P1|447=D|452=1|448=P2|447=D|452=3"),
        ("D", NOS + "|453=1|448=P1|447=D|452=1|802=1|523=S|803=1"),
        ("8", "6=0|14=0|17=E1|37=O1|39=0|54=1|55=INTC|150=0|151=100|11=ID|38=100"),
        ("d", "320=R1|322=S1|323=6|55=TBS|22=8|167=CS|336=ONE_MAIN|58=None found|454=0"),
        ("V", "262=M1|263=1|264=0|267=2|269=0|269=1|146=1|55=INTC"),
        ("i", "117=Q1|296=1|302=S1|304=1|295=1|299=E1"),
    ],
}


@pytest.mark.parametrize("version", VERSIONS)
def test_valid_messages_pass(version):
    for msg_type, body in VALID[version]:
        assert check(version, msg_type, body) is None, (msg_type, body)


@pytest.mark.parametrize("version", VERSIONS)
def test_header_fields_in_any_order_and_routing_tags_pass(version):
    assert raw(version, "8={V}|9=9|35=D|49=TW|34=3|56=ISLD|52={TS}|115=JCD|128=X|40=1|55=MSFT|"
                        f"60={TS}|54=1|21=3|11=id|38=5|10=000") is None


# --- every reject reason --------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("msg_type, body, header, expected", [
    ("0", "999=HI", "", rej(0, 999)),                  # not a FIX tag
    ("0", "5000=HI", "", rej(0, 5000)),                # user-defined tags are checked too
    ("0", "0=HI", "", rej(0, 0)),                      # RefTagID 0 is still sent
    ("0", "-1=HI", "", rej(0, -1)),
    ("D", "21=3|40=1|54=1|55=INTC|60=" + TS, "", rej(1, 11)),
    ("0", "55=MSFT", "", rej(2, 55)),                  # a FIX tag, not in a Heartbeat
    ("D", NOS + "|336=PRE", "", rej(2, 336)),          # a group member outside its group
    ("D", NOS.replace("55=INTC", "55="), "", rej(4, 55)),
    ("D", NOS, "115=", rej(4, 115)),
    ("D", NOS.replace("21=1", "21=4"), "", rej(5, 21)),
    ("D", NOS.replace("40=2", "40=w"), "", rej(5, 40)),
    ("D", NOS.replace("59=0", "59=Z"), "", rej(5, 59)),
    ("D", NOS + "|18=1 #", "", rej(5, 18)),            # each of a multiple-value field
    ("D", NOS + "|18=1  G", "", rej(5, 18)),           # two spaces: an empty value
    ("D", NOS.replace("38=100", "38=+200.00"), "", rej(6, 38)),
    ("D", NOS.replace("44=10.5", "44=1e3"), "", rej(6, 44)),
    ("D", NOS.replace("40=2", "40=22"), "", rej(6, 40)),   # CHAR: format before enum
    ("D", NOS + "|126=20040415", "", rej(6, 126)),
    ("D", NOS.replace(TS, "20241301-00:00:00"), "", rej(6, 60)),
    ("D", NOS, "97=X", rej(6, 97)),                    # BOOLEAN
    ("D", NOS.replace("40=2", "40=1|40=2"), "", rej(13, 40)),
    ("D", NOS + "|386=3|336=PRE-OPEN|336=AFTER-HOURS", "", rej(16, 386)),
    ("D", NOS + "|386=1", "", rej(16, 386)),           # no entry at all
    ("D", NOS + "|386=-1", "", rej(16, 386)),
])
def test_reject_reasons(version, msg_type, body, header, expected):
    assert check(version, msg_type, body, header) == expected


@pytest.mark.parametrize("version", VERSIONS)
def test_reject_reasons_of_structure(version):
    body_first = "8={V}|9=9|35=D|11=id|21=3|40=1|54=1|55=MSFT|60={TS}|34=2|49=TW|52={TS}|56=ISLD|10=0"
    assert raw(version, body_first) == rej(14, 34)
    one_early = "8={V}|9=9|35=D|55=MSFT|34=3|49=TW|52={TS}|56=ISLD|11=id|21=3|40=1|54=1|60={TS}|10=0"
    assert raw(version, one_early) == rej(14, 34)
    after_trailer = "8={V}|9=9|35=0|34=2|49=TW|52={TS}|56=ISLD|93=1|112=X|10=000"
    assert raw(version, after_trailer) == rej(14, 112)
    assert raw(version, "8={V}|9=9|35=*|34=2|49=TW|52={TS}|56=ISLD|10=000") == \
        SessionReject(11, None, "Invalid MsgType")
    assert raw(version, "8={V}|9=9|35=0|34=2|49=TW|52={TS}|10=000") == rej(1, 56)
    assert raw(version, "8={V}|9=9|35=0|34=2|49=TW|49=TW|52={TS}|56=ISLD|10=000") == rej(13, 49)
    assert raw(version, "8={V}|9=9|35=0|34=x|49=TW|52={TS}|56=ISLD|10=000") == rej(6, 34)


@pytest.mark.parametrize("version", VERSIONS)
def test_groups(version):
    if version == "FIX.4.4":
        # zero count, yet a member follows: it starts an entry
        assert check(version, "d", "320=R1|322=S1|323=6|454=0|455=X") == rej(16, 454)
        # an entry that does not begin with the delimiter (448) counts as one more
        assert check(version, "D", NOS + "|453=1|447=D|448=P1|452=1") == rej(16, 453)
        # QuickFIX checks the count of top-level groups only, not of nested ones
        assert check(version, "D", NOS + "|453=1|448=P1|447=D|452=1|802=2|523=S|803=1") is None
        mass = "117=Q1|296=1|302=S1|304=1|295=1|"
    else:
        assert check(version, "d", "320=R1|322=S1|323=6|393=0|146=0|311=X") == rej(16, 146)
        mass = "117=Q1|296=1|302=S1|311=U|304=1|295=1|"
    # required tags inside present entries, nested ones too; before any count check
    assert check(version, "i", mass.replace("304=1|", "") + "299=E1") == rej(1, 304)
    assert check(version, "i", mass + "55=X|299=E1") == rej(1, 299)
    assert check(version, "i", mass.replace("117=Q1|", "") + "55=X|299=E1") == rej(1, 117)
    # a required member only where the group's own components do not hide it (4.2: 55)
    expected = rej(1, 55) if version == "FIX.4.2" else rej(16, 146)
    assert check(version, "V", "262=M1|263=1|264=0|267=1|269=0|146=1|65=A|55=X") == expected


@pytest.mark.parametrize("version", VERSIONS)
def test_precedence(version):
    # out of order before an unknown MsgType, that before a missing tag, that before the fields
    assert raw(version, "8={V}|9=9|35=*|112=X|34=2|49=TW|52={TS}|56=ISLD|10=000") == rej(14, 34)
    assert raw(version, "8={V}|9=9|35=*|34=2|49=TW|52={TS}|10=000")[0] == 11
    assert check(version, "D", NOS.replace("11=ID|", "") + "|999=X") == rej(1, 11)
    # header before body, whatever the wire order; the body by tag number
    assert check(version, "D", NOS.replace("38=100", "38=+1"), header="115=") == rej(4, 115)
    assert check(version, "D", NOS.replace("60=" + TS, "60=x").replace("38=100", "38=+1")) \
        == rej(6, 38)
    assert check(version, "0", "999=X|55=MSFT") == rej(2, 55)
    # for one tag: repeated, empty, format, enum, unknown, not in message, count
    assert check(version, "D", NOS.replace("40=2", "40=2|40=")) == rej(13, 40)
    assert check(version, "D", NOS.replace("21=1", "21=")) == rej(4, 21)


def test_fix42_and_fix44_differ_where_the_standard_does():
    assert check("FIX.4.2", "D", NOS.replace("55=INTC|", "")) == rej(1, 55)
    assert check("FIX.4.4", "D", NOS.replace("55=INTC|", "")) is None
    # no Parties in 4.2; of two unknown tags the lower one is named
    assert check("FIX.4.2", "D", NOS + "|453=1|448=P1") == rej(0, 448)
    # the header group NoHops: 4.4 only; QuickFIX still files 627 under the header in 4.2
    assert check("FIX.4.4", "D", NOS, header="627=1|628=H") is None
    assert check("FIX.4.2", "D", NOS, header="627=1|628=H") == rej(0, 627)


# --- formats as QuickFIX's convertors read them ---------------------------------------

@pytest.mark.parametrize("fix_type, good, bad", [
    ("INT", [b"0", b"-0", b"007", b"2147483647", b"-2147483648", b"0000000000001"],
     [b"", b"-", b"+1", b"1.0", b" 1", b"2147483648", b"-2147483649", b"1_0"]),
    ("SEQNUM", [b"1", b"18446744073709551615"], [b"-1", b"18446744073709551616", b"1a"]),
    ("PRICE", [b"1", b"1.", b".5", b"-.5", b"-1.25", b"002000.00"],
     [b"", b".", b"-", b"+200.00", b"1e5", b"1.2.3", b"--1", b" 1", b"1,5"]),
    ("CHAR", [b"1", b"w"], [b"", b"12"]),
    ("BOOLEAN", [b"Y", b"N"], [b"y", b"YES", b"1"]),
    ("UTCTIMESTAMP", [b"20240102-03:04:05", b"20240102-03:04:05.", b"20240102-23:59:60.123456789",
                      b"20240231-00:00:00.1"],
     [b"20240102-03:04", b"20240102-24:00:00", b"20241302-00:00:00", b"20240100-00:00:00",
      b"20240102-00:60:00", b"20240102-00:00:61", b"20240102-03:04:05.1234567890",
      b"20240102 03:04:05", b"20040415"]),
    ("UTCTIMEONLY", [b"03:04:05", b"03:04:05.123"], [b"3:04:05", b"03:04", b"25:00:00"]),
    ("UTCDATE", [b"20240102"], [b"2024012", b"20240132", b"2024-01-02"]),
])
def test_formats(fix_type, good, bad):
    fmt = _FORMATS[fix_type]
    assert [v for v in good if not fmt(v)] == []
    assert [v for v in bad if fmt(v)] == []


# --- the fast path agrees with the step-by-step one ------------------------------------

def mutations(msg: list) -> list:
    """The message broken one field at a time, in the ways a counterparty breaks it."""
    out = []
    for k in range(3, len(msg) - 1):
        tag, value = msg[k]
        out.append(msg[:k] + msg[k + 1:])                                  # dropped
        out.append(msg[:k + 1] + [(tag, value)] + msg[k + 1:])             # repeated
        out.append(msg[:k] + [(tag, b"")] + msg[k + 1:])                   # emptied
        out.append(msg[:3] + [msg[k]] + msg[3:k] + msg[k + 1:])            # moved first
        out.append(msg[:k] + msg[k + 1:-1] + [msg[k], msg[-1]])            # moved last
        out.append(msg[:k] + msg[k + 1:] + [msg[k]])                       # after CheckSum
        out.append(msg[:k] + [(9999, b"X")] + msg[k:])                     # unknown tag
        for bad in (b"+1", b"x", b"0", b"20241301-00:00:00", b"-1"):
            out.append(msg[:k] + [(tag, bad)] + msg[k + 1:])
    return out


@pytest.mark.parametrize("version", VERSIONS)
def test_fast_path_gives_the_same_answer_as_explain(version):
    d = Dictionary.for_version(version)
    answers = set()
    for msg_type, body in VALID[version]:
        for msg in mutations(message(version, msg_type, body)):
            fast, slow = d.validate(msg, msg_type.encode()), d.explain(msg, msg_type.encode())
            assert fast == slow, (msg, fast, slow)
            answers.add(slow and slow.reason)
    assert answers >= {None, 0, 1, 2, 4, 5, 6, 13, 14, 16}
