"""The ``[fix]`` tables of the configuration: where the gateway listens and
which sessions may log on.

    [fix]
    host = "127.0.0.1"
    port = 9878
    sender_comp_id = "OMS"            # ours, in every session
    journal = "oms-journal"           # the default folder of `oms serve`
    tls_certificate = "cert.pem"      # optional: TLS with this certificate...
    tls_key = "key.pem"               # ...and key
    logon_timeout = 10                # seconds a new connection may take to log on
    max_message_bytes = 65536         # a longer message drops its connection
    max_pending_bytes = 16777216      # unsent output a client may leave unread

    [fix.sessions.ALICE]              # the counterparty's CompID (their SenderCompID)
    begin_string = "FIX.4.4"          # or "FIX.4.2"
    account = "ALICE"                 # the account its orders act for
    password_sha256 = "5e88...42d8"   # optional: SHA-256 (hex) of Password (554)
    reset_on_logon = false
    cancel_on_disconnect = true

    [fix.sessions.COMPLIANCE]         # a drop copy: receives, never sends orders
    begin_string = "FIX.4.4"
    drop_copy = ["ALICE", "BOB"]

Every problem is a `ConfigError` naming the key path.
"""
from __future__ import annotations

import re
from typing import Any

import msgspec

from engine.config import Config, ConfigError

from .session import SessionSettings

VERSIONS = ("FIX.4.2", "FIX.4.4")
_COMP_ID = re.compile(r"[\x21-\x7e]+")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


class GatewaySettings(msgspec.Struct, frozen=True):
    host: str = "127.0.0.1"
    port: int = 9878
    sender_comp_id: str = "OMS"
    journal: str = "oms-journal"
    tls_certificate: str | None = None
    tls_key: str | None = None
    sessions: list[SessionSettings] = []
    logon_timeout: float = 10.0
    max_message_bytes: int = 65536
    max_pending_bytes: int = 16 << 20


_TOP_KEYS = {"host", "port", "sender_comp_id", "journal", "tls_certificate", "tls_key",
             "sessions", "logon_timeout", "max_message_bytes", "max_pending_bytes"}
_SESSION_KEYS = {"begin_string", "account", "password_sha256", "reset_on_logon",
                 "cancel_on_disconnect", "drop_copy", "max_latency", "logout_timeout"}


def gateway_settings(config: Config) -> GatewaySettings:
    """The checked ``[fix]`` tables of `config` (defaults where absent)."""
    raw = config.fix

    def bad(path: str, problem: str) -> ConfigError:
        return ConfigError(config.source, path, problem)

    for key in raw:
        if key not in _TOP_KEYS:
            raise bad(f"fix.{key}", f"unknown key; expected one of {', '.join(sorted(_TOP_KEYS))}")
    host = _text(raw.get("host", "127.0.0.1"), "fix.host", bad)
    port = raw.get("port", 9878)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise bad("fix.port", f"must be an integer port 0-65535, got {port!r}")
    sender = _comp_id(raw.get("sender_comp_id", "OMS"), "fix.sender_comp_id", bad)
    journal = _text(raw.get("journal", "oms-journal"), "fix.journal", bad)
    cert = raw.get("tls_certificate")
    key = raw.get("tls_key")
    if (cert is None) != (key is None):
        raise bad("fix.tls_key" if key is None else "fix.tls_certificate",
                  "TLS needs both tls_certificate and tls_key")
    tables = raw.get("sessions", {})
    if not isinstance(tables, dict):
        raise bad("fix.sessions", "must be a table of sessions keyed by the counterparty's CompID")
    sessions = [_session(name, table, sender, config, bad) for name, table in tables.items()]
    bounds = {}
    for name, default in (("logon_timeout", 10), ("max_message_bytes", 65536),
                          ("max_pending_bytes", 16 << 20)):
        value = raw.get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise bad(f"fix.{name}", f"must be a positive number, got {value!r}")
        bounds[name] = value
    return GatewaySettings(host, port, sender, journal, cert, key, sessions,
                           float(bounds["logon_timeout"]), int(bounds["max_message_bytes"]),
                           int(bounds["max_pending_bytes"]))


def _session(name: str, table: Any, sender: str, config: Config, bad) -> SessionSettings:
    path = f"fix.sessions.{name}"
    _comp_id(name, path, bad)
    if not isinstance(table, dict):
        raise bad(path, "must be a table")
    for key in table:
        if key not in _SESSION_KEYS:
            raise bad(f"{path}.{key}",
                      f"unknown key; expected one of {', '.join(sorted(_SESSION_KEYS))}")
    version = table.get("begin_string", "FIX.4.4")
    if version not in VERSIONS:
        raise bad(f"{path}.begin_string", f"must be one of {', '.join(VERSIONS)}, got {version!r}")
    account = table.get("account")
    drop_copy = table.get("drop_copy", [])
    if not isinstance(drop_copy, list) or not all(isinstance(a, str) for a in drop_copy):
        raise bad(f"{path}.drop_copy", "must be a list of account names")
    for a in ([account] if account is not None else []) + drop_copy:
        if a not in config.accounts:
            raise bad(f"{path}.account" if a == account else f"{path}.drop_copy",
                      f"unknown account {a!r}")
    if account is None and not drop_copy:
        raise bad(path, "needs an account (or a drop_copy list for a read-only session)")
    password = table.get("password_sha256")
    if password is not None and (not isinstance(password, str) or not _HEX64.fullmatch(password)):
        raise bad(f"{path}.password_sha256", "must be 64 hex digits (SHA-256 of the password)")
    flags = {}
    for key in ("reset_on_logon", "cancel_on_disconnect"):
        value = table.get(key, False)
        if not isinstance(value, bool):
            raise bad(f"{path}.{key}", f"must be true or false, got {value!r}")
        flags[key] = value
    for key, default in (("max_latency", 120), ("logout_timeout", 2)):
        value = table.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise bad(f"{path}.{key}", f"must be a positive number of seconds, got {value!r}")
        flags[key] = value
    return SessionSettings(version, sender, name, account=account, password_sha256=password,
                           drop_copy=drop_copy, **flags)


def _text(value, path: str, bad) -> str:
    if not isinstance(value, str) or not value:
        raise bad(path, f"must be a non-empty string, got {value!r}")
    return value


def _comp_id(value, path: str, bad) -> str:
    if not isinstance(value, str) or not _COMP_ID.fullmatch(value):
        raise bad(path, f"a CompID must be printable ASCII without spaces, got {value!r}")
    return value
