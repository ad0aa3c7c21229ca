"""scanner.connection: what the scanner itself saw of the connection to a host.

No script runs on the target. The engine writes one ``key: value`` line per thing it knows about
the connection, from the transport (never from the target's output, which cannot reach this
section), and this parser turns them into facts. It is written even for a host that refused the
connection because of its host key, so that a changed key is judged by a rule like any other
finding, not only reported as an unreachable host::

    transport: ssh
    host_key: changed            # verified | accepted-on-first-use | changed | unknown
                                 # | revoked | bad-certificate
    host_key_type: ssh-ed25519
    host_key_fingerprint: SHA256:...   # what the host offered
    known_fingerprint: SHA256:...      # what known_hosts holds (changed keys)
    host_key_of: root@10.0.0.5         # a jump host's key, not the target's own

Example facts (a host whose key changed)::

    connection.transport "ssh"
    connection.host_key "changed, connection refused"
    connection.host_key_changed true
    connection.host_key_fingerprint "SHA256:..."   connection.host_key_expected "SHA256:..."

``connection.host_key`` reads as a sentence in a result's message; an unknown key (not in
known_hosts, refused) leaves ``connection.host_key`` and ``connection.host_key_changed`` in error:
whether it changed cannot be told.
"""

from __future__ import annotations

import re

from probes.base import Facts, RawSection, guard
from probes.base import lines as text_lines

PROVIDES = (
    "connection.transport",
    "connection.host_key",
    "connection.host_key_changed",
    "connection.host_key_fingerprint",
    "connection.host_key_expected",
    "connection.host_key_type",
)

# the scanner writes this record, not the target: any transport's name is taken (the names are
# scanner/vocab.py's TRANSPORTS; probes may not import scanner, and a list kept here would be one
# more place a new transport must be written)
_TRANSPORT = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_LINE = re.compile(r"^([a-z_]+): ?(.*)$")
_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")
_KEY_TYPE = re.compile(r"^[a-z0-9@.-]{3,64}$")
_STATES = {
    "verified": ("on record", False),
    "accepted-on-first-use": ("accepted on first use", False),
    "changed": ("changed, connection refused", True),
}
# refused for what known_hosts says of the key itself (a finding, unlike an unknown key)
_REFUSED = {
    "revoked": "marked @revoked in known_hosts, connection refused",
    "bad-certificate": "a host certificate that is not valid for this host, connection refused",
}


def parse(raw: RawSection) -> Facts:
    return guard(raw, PROVIDES, _parse)


def _parse(raw: RawSection, facts: Facts) -> None:
    fields: dict[str, str] = {}
    for line in text_lines(raw.stdout):
        m = _LINE.match(line.strip())
        if m is None or m.group(1) in fields:
            facts.error_all(PROVIDES, "connection record unreadable")
            return
        fields[m.group(1)] = m.group(2).strip()
    transport = fields.get("transport")
    if transport is None or not _TRANSPORT.match(transport):
        facts.error_all(PROVIDES, f"connection record names no known transport: {transport!r}")
        return
    facts.set("connection.transport", transport)
    key_facts = PROVIDES[1:]
    if transport != "ssh":
        for name in key_facts:
            facts.error(name, f"no host key: the {transport} transport has none")
        return
    state = fields.get("host_key")
    offered = fields.get("host_key_fingerprint", "")
    of = fields.get("host_key_of")
    whose = f" of the jump host {of}" if of else ""
    if state == "unknown":
        reason = (
            f"the host key{whose} is not in known_hosts, so whether it changed cannot be told; "
            "the connection was refused"
        )
        facts.error_all(key_facts, reason)
        if _FINGERPRINT.match(offered):
            facts.set("connection.host_key_fingerprint", offered)
        return
    if state in _REFUSED and _FINGERPRINT.match(offered):
        facts.set("connection.host_key", _REFUSED[state] + (f" (jump host {of})" if of else ""))
        facts.set("connection.host_key_changed", False)
        facts.set("connection.host_key_fingerprint", offered)
        key_type = fields.get("host_key_type", "")
        if _KEY_TYPE.match(key_type):
            facts.set("connection.host_key_type", key_type)
        else:
            facts.error("connection.host_key_type", "not recorded")
        facts.error("connection.host_key_expected", f"the key offered is {state}")
        return
    if state not in _STATES or not _FINGERPRINT.match(offered):
        facts.error_all(key_facts, f"host key state unreadable: {state!r}")
        return
    text, changed = _STATES[state]
    if changed and of:
        text = f"changed on the jump host {of}, connection refused"
    facts.set("connection.host_key", text)
    facts.set("connection.host_key_changed", changed)
    facts.set("connection.host_key_fingerprint", offered)
    key_type = fields.get("host_key_type", "")
    if _KEY_TYPE.match(key_type):
        facts.set("connection.host_key_type", key_type)
    else:
        facts.error("connection.host_key_type", "not recorded")
    expected = fields.get("known_fingerprint", "")
    if changed and _FINGERPRINT.match(expected):
        facts.set("connection.host_key_expected", expected)
    elif changed:
        facts.error("connection.host_key_expected", "not recorded")
    else:
        facts.set("connection.host_key_expected", offered)


def record(info: dict[str, object]) -> str:
    """The section's text from what the engine knows (``transport``, ``host_key`` ...); lines
    whose value is empty are left out, and no value may hold a line break."""
    lines = []
    for key in ("transport", "host_key", "host_key_type", "host_key_fingerprint",
                "known_fingerprint", "host_key_of"):
        value = info.get(key)
        if value is None or value == "":
            continue
        text = " ".join(str(value).split())
        lines.append(f"{key}: {text}")
    return "\n".join(lines) + "\n"
