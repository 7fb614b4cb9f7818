"""FIX 4.2 / 4.4 data dictionaries and the session-level validation of a message.

The dictionaries are QuickFIX's `spec/FIX42.xml` and `spec/FIX44.xml` (vendored
unchanged in `spec/`). `Dictionary.validate` answers what QuickFIX's default
validation answers, in its order, because counterparties and the acceptance
scripts compare the session Reject exactly (373, 371, 58):

1. a header tag after a body or trailer tag, or a body tag after a trailer tag
   -> 14, the first such tag;
2. unknown MsgType -> 11, no RefTagID;
3. required tags: header, then trailer, then body (each by ascending tag),
   then inside each group entry present (by count tag; QuickFIX skips this
   when the message itself has no required tag) -> 1;
4. field by field, header (8, 9, 35, then by tag), trailer (93, 89, others,
   10), body (by tag); for each: repeated -> 13, empty -> 4, bad format -> 6,
   not an enum value -> 5, not a FIX tag -> 0, then for body tags only: not in
   this message -> 2, NumInGroup unequal to the entries -> 16.

Like QuickFIX it does not look inside repeating groups beyond splitting them
into entries and checking required tags: member values, and the counts of
nested groups, are not checked. Tags >= 5000 are checked like any other.
Framing (8, 9, 35 first; BodyLength, CheckSum), CompIDs, SendingTime and
sequence numbers belong to the codec and session layers; so does leaving 373
out of a FIX 4.2 Reject for 13, 14 and 16 (`Dictionary.defines_reject_reason`).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import cache
from importlib.resources import files
from operator import itemgetter
from types import MappingProxyType
from typing import Callable, NamedTuple, Optional

BEGIN_STRINGS = {"FIX.4.2": "FIX42.xml", "FIX.4.4": "FIX44.xml"}
HEADER_ORDER = (8, 9, 35)    # BeginString, BodyLength, MsgType lead; other header tags by number
TRAILER_ORDER = (93, 89)     # SignatureLength, Signature first; CheckSum (10) always last
SESSION_MSG_TYPES = frozenset(b"0 1 2 3 4 5 A".split())
# Tags QuickFIX places in the header whatever the dictionary says (Message::isHeaderField).
SESSION_HEADER_TAGS = frozenset((8, 9, 35, 49, 56, 115, 128, 90, 34, 50, 142, 57, 143, 116, 144,
                                 129, 145, 43, 97, 52, 122, 212, 213, 347, 369, 370, 1128,
                                 1129, 627))
SESSION_TRAILER_TAGS = frozenset((93, 89, 10))

REJECT_TEXT = {
    0: "Invalid tag number",
    1: "Required tag missing",
    2: "Tag not defined for this message type",
    4: "Tag specified without a value",
    5: "Value is incorrect (out of range) for this tag",
    6: "Incorrect data format for value",
    9: "CompID problem",
    10: "SendingTime accuracy problem",
    11: "Invalid MsgType",
    13: "Tag appears more than once",
    14: "Tag specified out of required order",
    16: "Incorrect NumInGroup count for repeating group",
}


class SessionReject(NamedTuple):
    """Why a message gets a session Reject (35=3)."""
    reason: int          # SessionRejectReason (373)
    tag: int | None      # RefTagID (371); None when QuickFIX leaves it out
    text: str            # Text (58), QuickFIX's wording


def reject(reason: int, tag: int | None = None) -> SessionReject:
    """QuickFIX sends RefTagID only for a non-zero tag, except for an invalid tag (0=x)."""
    return SessionReject(reason, tag if tag or (reason == 0 and tag is not None) else None,
                         REJECT_TEXT[reason])


class FieldDef(NamedTuple):
    tag: int
    name: str
    type: str                       # FIX type as in the XML: INT, PRICE, UTCTIMESTAMP ...
    values: frozenset[bytes] | None  # enum values, None when any value of the type goes


class GroupDef(NamedTuple):
    count_tag: int                  # the NumInGroup tag
    delimiter: int                  # first member: each occurrence starts an entry
    fields: frozenset[int]          # members, nested count tags included
    required: tuple[int, ...]       # ascending; empty unless the group itself is required
    groups: dict[int, GroupDef]     # nested groups by count tag


class MessageDef(NamedTuple):
    msg_type: bytes
    name: str
    category: str                   # 'admin' or 'app', as the XML says
    fields: frozenset[int]          # body tags, group members excluded
    required: tuple[int, ...]       # ascending
    groups: dict[int, GroupDef]


# Formats as QuickFIX's convertors accept them (FieldConvertors.h); other types are free text.
# Python refuses int() of more than 4,300 digits: leading zeros are dropped
# and anything longer than the type can hold is refused before int() is asked.
def _is_int32(v: bytes) -> bool:
    if v.isdigit():
        v = v.lstrip(b"0")
        return len(v) < 10 or (len(v) == 10 and int(v) <= 0x7FFFFFFF)
    if v[:1] == b"-" and v[1:].isdigit():
        v = v[1:].lstrip(b"0")
        return len(v) < 10 or (len(v) == 10 and int(v) <= 0x80000000)
    return False


def _is_seqnum(v: bytes) -> bool:
    if not v.isdigit():
        return False
    v = v.lstrip(b"0")
    return len(v) < 20 or (len(v) == 20 and int(v) < 1 << 64)


def _is_decimal(v: bytes) -> bool:
    """Optional '-', digits with at most one '.' and at least one digit: no '+', no exponent."""
    return (v[1:] if v[:1] == b"-" else v).replace(b".", b"", 1).isdigit()


_DATE = rb"[0-9]{4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
_TIME = rb"(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)(?:\.[0-9]{0,9})?"
_FORMATS: dict[str, Callable[[bytes], object]] = {
    "INT": _is_int32, "LENGTH": _is_int32, "NUMINGROUP": _is_int32, "TAGNUM": _is_int32,
    "SEQNUM": _is_seqnum,
    **dict.fromkeys(("PRICE", "AMT", "QTY", "FLOAT", "PRICEOFFSET", "PERCENTAGE"), _is_decimal),
    "CHAR": lambda v: len(v) == 1,
    "BOOLEAN": lambda v: v == b"Y" or v == b"N",
    "UTCTIMESTAMP": re.compile(_DATE + b"-" + _TIME).fullmatch,
    "TIME": re.compile(_DATE + b"-" + _TIME).fullmatch,
    "UTCTIMEONLY": re.compile(_TIME).fullmatch,
    "UTCDATE": re.compile(_DATE).fullmatch,
    "UTCDATEONLY": re.compile(_DATE).fullmatch,
}
_MULTI = frozenset(("MULTIPLEVALUESTRING", "MULTIPLESTRINGVALUE", "MULTIPLECHARVALUE"))
Checker = Optional[Callable[[bytes], object]]


def _value_ok(field: FieldDef, value: bytes) -> int:
    """0 if `value` suits `field`, else the SessionRejectReason: 6 format, 5 enum."""
    fmt = _FORMATS.get(field.type)
    if fmt is not None and not fmt(value):
        return 6
    if field.values is None:
        return 0
    parts = value.split(b" ") if field.type in _MULTI else (value,)
    return 0 if all(p in field.values for p in parts) else 5


def _checker(field: FieldDef) -> Checker:
    """The cheapest test equivalent to `_value_ok(field, v) == 0`: None for free
    text, else a predicate (for enums, membership of the values of a good format)."""
    fmt = _FORMATS.get(field.type)
    if field.values is None:
        return fmt
    good = frozenset(v for v in field.values if fmt is None or fmt(v))
    if field.type in _MULTI:   # free text, so no format to check: a value or space-separated values
        return lambda v: v in good or all(map(good.__contains__, v.split(b" ")))
    return good.__contains__


def _take_group(fields: list[tuple[int, bytes]], i: int, group: GroupDef) -> tuple[list, int]:
    """Split the entries of `group` from fields[i:] as QuickFIX does (Message::setGroup).

    An entry starts at the delimiter or at a member already set in the current
    entry; the group ends at the first tag that is not a member. Returns the
    entries, each (tags of the entry, {nested count tag: entries}), and the
    index after the group. O(fields of the group).
    """
    entries: list = []
    tags: set | None = None
    delimiter, members, nested = group.delimiter, group.fields, group.groups
    while i < len(fields):
        tag = fields[i][0]
        if tag == delimiter or (tag in members and (tags is None or tag in tags)):
            tags, inner = set(), {}
            entries.append((tags, inner))
        elif tag not in members:
            break
        tags.add(tag)
        i += 1
        sub = nested.get(tag)
        if sub is not None:
            found, i = _take_group(fields, i, sub)
            if found:
                inner[tag] = found
    return entries, i


def _missing_in_group(group: GroupDef, entries: list) -> int:
    """First required tag missing from an entry, nested groups after the entry's own
    tags; 0 if none. Like QuickFIX it stops at a group with no required tags."""
    if not group.required:
        return 0
    for tags, inner in entries:
        for tag in group.required:
            if tag not in tags:
                return tag
        for count_tag in sorted(inner):
            missing = _missing_in_group(group.groups[count_tag], inner[count_tag])
            if missing:
                return missing
    return 0


def _header_key(field: tuple[int, bytes]) -> tuple[int, int]:
    tag = field[0]
    return (HEADER_ORDER.index(tag), 0) if tag in HEADER_ORDER else (3, tag)


def _trailer_key(field: tuple[int, bytes]) -> tuple[int, int]:
    tag = field[0]
    if tag == 10:
        return (3, 0)
    return (TRAILER_ORDER.index(tag), 0) if tag in TRAILER_ORDER else (2, tag)


class Dictionary:
    """One FIX version's fields, header, trailer and messages, with what the
    session layer asks of them. Build with `for_version` (loaded once per version)."""

    def __init__(self, begin_string: str, fields: dict[int, FieldDef],
                 header: dict[int, bool], trailer: dict[int, bool],
                 header_groups: dict[int, GroupDef], messages: dict[bytes, MessageDef]):
        self.begin_string = begin_string
        self.fields = MappingProxyType(fields)
        self.header = MappingProxyType(header)     # tag -> required, in the XML's order
        self.trailer = MappingProxyType(trailer)
        self.header_groups = MappingProxyType(header_groups)
        self.messages = MappingProxyType(messages)
        self._header_tags = SESSION_HEADER_TAGS | header.keys()
        self._trailer_tags = SESSION_TRAILER_TAGS | trailer.keys()
        self._header_required = tuple(sorted(t for t, r in header.items() if r))
        self._trailer_required = tuple(sorted(t for t, r in trailer.items() if r))
        # Fast path: per message type, tag -> (0 header / 1 body / 2 trailer, value
        # checker, group) for every tag it may accept; the rest goes to `explain`.
        checks = {tag: _checker(f) for tag, f in fields.items()}
        common = {t: (0, checks[t], None) for t in header if t not in header_groups}
        common.update((t, (2, checks[t], None)) for t in trailer)
        self._fast = {m: {**{t: (1, checks[t], d.groups.get(t)) for t in d.fields
                             if t not in self._header_tags and t not in self._trailer_tags},
                          **common} for m, d in messages.items()}
        self._fast_required = {m: frozenset(self._header_required + self._trailer_required
                                            + d.required) for m, d in messages.items()}

    @classmethod
    def for_version(cls, begin_string: str) -> Dictionary:
        """The dictionary of "FIX.4.2" or "FIX.4.4"; parsed on first use, then cached."""
        return _load(begin_string)

    def has_msg_type(self, msg_type: bytes) -> bool:
        return msg_type in self.messages

    def is_admin(self, msg_type: bytes) -> bool:
        """A session message (0 1 2 3 4 5 A). FIX44.xml also files XMLnonFIX (n)
        as admin, but no session logic handles it, so like QuickFIX we pass it on."""
        return msg_type in SESSION_MSG_TYPES

    def defines_reject_reason(self, reason: int) -> bool:
        """Whether this version's SessionRejectReason (373) has `reason`: FIX 4.2
        stops at 11, so its Rejects for 13, 14, 16 carry only RefTagID and Text."""
        return str(reason).encode() in self.fields[373].values

    def validate(self, fields: list[tuple[int, bytes]], msg_type: bytes) -> SessionReject | None:
        """None if the message passes, else the Reject QuickFIX would send.

        `fields`: the decoded message in wire order, 8, 9, 35 ... 10 (the codec
        has checked those). One pass with a set and dict lookups, O(fields),
        about 6 us for a NewOrderSingle of 21 fields on a 2-core VM (CPython
        3.11); anything doubtful goes to `explain`, which finds the exact
        reason in QuickFIX's order.
        """
        table = self._fast.get(msg_type)
        if table is None:
            return self.explain(fields, msg_type)
        seen: set[int] = set()
        part = skip = 0
        for i, (tag, value) in enumerate(fields):
            if i < skip:
                continue
            entry = table.get(tag)
            if entry is None or not value or tag in seen:
                return self.explain(fields, msg_type)
            seen.add(tag)
            where, check, group = entry
            if where < part or (check is not None and not check(value)):
                return self.explain(fields, msg_type)
            part = where
            if group is not None:
                entries, skip = _take_group(fields, i + 1, group)
                if len(entries) != int(value) or _missing_in_group(group, entries):
                    return self.explain(fields, msg_type)
        if not self._fast_required[msg_type] <= seen:
            return self.explain(fields, msg_type)
        return None

    def explain(self, fields: list[tuple[int, bytes]], msg_type: bytes) -> SessionReject | None:
        """QuickFIX's validation step by step (see the module docstring); slower
        than `validate` (sorts each part), for messages that fail."""
        msg = self.messages.get(msg_type)
        header: list = []
        body: list = []
        trailer: list = []
        groups: dict[int, list] = {}
        part, misplaced, i = 0, None, 0
        while i < len(fields):
            tag, value = fields[i]
            i += 1
            if tag in self._header_tags:
                if part and not misplaced:
                    misplaced = tag
                header.append((tag, value))
                if tag in self.header_groups:
                    i = _take_group(fields, i, self.header_groups[tag])[1]
            elif tag in self._trailer_tags:
                part = 2
                trailer.append((tag, value))
            else:
                if part == 2 and not misplaced:
                    misplaced = tag
                part = 1
                body.append((tag, value))
                group = msg.groups.get(tag) if msg else None
                if group is not None:
                    entries, i = _take_group(fields, i, group)
                    groups.setdefault(tag, []).extend(entries)
        if misplaced is not None:
            return reject(14, misplaced)
        if msg is None:
            return reject(11)
        missing = self._missing(header, trailer, body, groups, msg)
        if missing:
            return reject(1, missing)
        for fs, key, in_body in ((header, _header_key, False), (trailer, _trailer_key, False),
                                 (body, itemgetter(0), True)):
            last = None
            for tag, value in sorted(fs, key=key):
                if tag == last:
                    return reject(13, tag)
                last = tag
                if not value:
                    return reject(4, tag)
                field = self.fields.get(tag)
                if field is None:
                    return reject(0, tag)
                reason = _value_ok(field, value)
                if reason:
                    return reject(reason, tag)
                if in_body:
                    if tag not in msg.fields:
                        return reject(2, tag)
                    if tag in msg.groups and len(groups.get(tag, ())) != int(value):
                        return reject(16, tag)
        return None

    def _missing(self, header, trailer, body, groups, msg: MessageDef) -> int:
        for required, present in ((self._header_required, header),
                                  (self._trailer_required, trailer),
                                  (msg.required, body)):
            tags = {t for t, _ in present}
            for tag in required:
                if tag not in tags:
                    return tag
        if not msg.required:   # QuickFIX then skips the groups too
            return 0
        for count_tag in sorted(groups):
            missing = _missing_in_group(msg.groups[count_tag], groups[count_tag])
            if missing:
                return missing
        return 0


class _Node:
    """What a message, group or component contributes while the XML is read."""
    def __init__(self):
        self.fields: set[int] = set()
        self.required: set[int] = set()
        self.groups: dict[int, GroupDef] = {}


def _yes(el: ET.Element) -> bool:
    return el.get("required") in ("Y", "y")


class _Reader:
    """Reads a QuickFIX XML dictionary with QuickFIX's rules (DataDictionary.cpp),
    quirks included, so that required tags and group delimiters are the same:
    a group's members are required only if the group is; a required component
    nested in another adds its required tags to the message itself."""

    def __init__(self, root: ET.Element):
        comps = root.find("components")
        self.components = {c.get("name"): c for c in (comps if comps is not None else ())}
        self.fields: dict[int, FieldDef] = {}
        self.tags: dict[str, int] = {}
        for f in root.find("fields"):
            tag, name = int(f.get("number")), f.get("name")
            values = frozenset(v.get("enum").encode() for v in f.iter("value"))
            self.fields[tag] = FieldDef(tag, name, f.get("type"), values or None)
            self.tags[name] = tag

    def component(self, name: str, into: _Node, message: _Node, required: bool) -> int:
        """Adds the component's tags to `into`; returns its first field or group tag."""
        first = 0
        for child in self.components[name]:
            if child.tag in ("field", "group"):
                tag = self.tags[child.get("name")]
                first = first or tag
                if required and _yes(child):
                    message.required.add(tag)
                into.fields.add(tag)
                if child.tag == "group":
                    self.add_group(child, into, message, _yes(child))
            elif child.tag == "component":
                self.component(child.get("name"), into, message, _yes(child))
        return first

    def add_group(self, el: ET.Element, into: _Node, message: _Node, required: bool) -> None:
        node, delimiter = _Node(), 0
        for child in el:
            tag = 0
            if child.tag in ("field", "group"):
                tag = self.tags[child.get("name")]
                node.fields.add(tag)
                if required and _yes(child):
                    node.required.add(tag)
                if child.tag == "group":
                    self.add_group(child, node, message, _yes(child))
            elif child.tag == "component":
                tag = self.component(child.get("name"), node, message, False)
            delimiter = delimiter or tag
        if delimiter:
            count_tag = self.tags[el.get("name")]
            into.groups[count_tag] = GroupDef(count_tag, delimiter, frozenset(node.fields),
                                              tuple(sorted(node.required)), node.groups)

    def section(self, el: ET.Element) -> tuple[dict[int, bool], dict[int, GroupDef]]:
        """Header or trailer: tag -> required, and its groups."""
        tags, node = {}, _Node()
        for child in el:
            if child.tag in ("field", "group"):
                tags[self.tags[child.get("name")]] = _yes(child)
                if child.tag == "group":
                    self.add_group(child, node, _Node(), _yes(child))
        return tags, node.groups

    def message(self, el: ET.Element) -> MessageDef:
        node = _Node()
        for child in el:
            if child.tag in ("field", "group"):
                tag = self.tags[child.get("name")]
                node.fields.add(tag)
                if _yes(child):
                    node.required.add(tag)
                if child.tag == "group":
                    self.add_group(child, node, node, _yes(child))
            elif child.tag == "component":
                self.component(child.get("name"), node, node, _yes(child))
        return MessageDef(el.get("msgtype").encode(), el.get("name"), el.get("msgcat"),
                          frozenset(node.fields), tuple(sorted(node.required)), node.groups)


@cache
def _load(begin_string: str) -> Dictionary:
    if begin_string not in BEGIN_STRINGS:
        raise ValueError(f"no data dictionary for BeginString {begin_string!r}; "
                         f"have {sorted(BEGIN_STRINGS)}")
    with (files(__package__) / "spec" / BEGIN_STRINGS[begin_string]).open("rb") as f:
        root = ET.parse(f).getroot()
    reader = _Reader(root)
    header, header_groups = reader.section(root.find("header"))
    trailer, _ = reader.section(root.find("trailer"))
    messages = {m.msg_type: m for m in map(reader.message, root.find("messages"))}
    return Dictionary(begin_string, reader.fields, header, trailer, header_groups, messages)
