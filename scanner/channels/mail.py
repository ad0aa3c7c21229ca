"""The ``email`` channel: the message as an e-mail over SMTP (STARTTLS or TLS from the first
byte, an optional login), the HTML report attached.

Its settings, the inventory's ``notify.email``: ``to`` (an address or a list), ``from``,
``smtp_host``, ``smtp_port`` (587, or 465 with ``ssl``), ``starttls`` (default true) or
``ssl``, ``username_env`` and ``password_env`` (the NAMES of the environment variables holding
the SMTP login, read at send time), ``ca_file`` (the CA the relay's certificate is checked
against; default the system's), ``attach_report`` (default true) and ``on``.

(Named ``mail``, not ``email``, so that it never reads as the standard library's package.)
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, NamedTuple

from scanner.channels.base import Checker, News, NotSent, env
from scanner.channels.message import subject, text
from scanner.channels.settings import kinds, on_key, unknown_keys

KEYS = ("to", "from", "smtp_host", "smtp_port", "starttls", "ssl", "username_env",
        "password_env", "ca_file", "attach_report", "on")
_ADDRESS_PART = re.compile(r"^[^@\s<>,;\"'()\[\]\\]+$")


class _AddressRe:
    """An e-mail address check in linear time (the former pattern backtracked: an 80 kB
    address took 20 s): at most 254 characters, one ``@``, a dot in the domain."""

    def match(self, text: str) -> bool:
        if len(text) > 254 or text.count("@") != 1:
            return False
        local, domain = text.split("@")
        return (bool(_ADDRESS_PART.match(local)) and bool(_ADDRESS_PART.match(domain))
                and "." in domain.strip(".") and not domain.startswith(".")
                and not domain.endswith("."))


_ADDRESS_RE = _AddressRe()


# -- its settings --------------------------------------------------------------------------------

def check(raw: Any, where: str, c: Checker) -> dict[str, Any] | None:
    """``notify.email`` checked and normalised (every key present); None after a problem."""
    if not isinstance(raw, dict):
        c.problem(where, f"expected a mapping with to, from and smtp_host, found "
                         f"{c.type_name(raw)}")
        return None
    raw = on_key(raw)
    before = c.problems()
    unknown_keys(raw, KEYS, where, c)
    to = raw.get("to")
    to_list = [to] if isinstance(to, str) else to
    if not isinstance(to_list, list) or not to_list:
        c.problem(where, "'to' is missing, expected an address or a list of addresses")
        to_list = []
    for a in to_list:
        if not isinstance(a, str) or not _ADDRESS_RE.match(a.strip()):
            c.problem(where, f"'to' has {a!r}, expected an email address such as it@example.org")
    sender = raw.get("from")
    if not isinstance(sender, str) or not _ADDRESS_RE.match(sender.strip()):
        c.problem(where, f"'from' is {sender!r}, expected an email address such as "
                         "undone@example.org")
    host = raw.get("smtp_host")
    if not isinstance(host, str) or not c.host(host):
        c.problem(where, f"'smtp_host' is {host!r}, expected the mail relay's host name or "
                         "address")
    starttls = c.value("bool", raw.get("starttls", True), where, "starttls")
    implicit = c.value("bool", raw.get("ssl", False), where, "ssl")
    if starttls and implicit and "starttls" in raw:
        c.problem(where, "'starttls' and 'ssl' both true: ssl is TLS from the first byte (port "
                         "465), starttls upgrades a plain connection (port 587); choose one")
    port = c.value("port", raw.get("smtp_port", 465 if implicit else 587), where, "smtp_port")
    user_env = raw.get("username_env")
    pw_env = raw.get("password_env")
    for key, v in (("username_env", user_env), ("password_env", pw_env)):
        if v is not None:
            c.value("envname", v, where, key)
    if (user_env is None) != (pw_env is None):
        c.problem(where, "'username_env' and 'password_env' go together (the NAMES of the "
                         "environment variables holding the SMTP login)")
    if pw_env is not None and not starttls and not implicit:
        c.problem(where, "a login without starttls or ssl would send the SMTP password readable "
                         "on the network; set starttls: true (or ssl: true)")
    ca = raw.get("ca_file")
    if ca is not None:
        ca = c.value("str", ca, where, "ca_file")
    attach = c.value("bool", raw.get("attach_report", True), where, "attach_report")
    on = kinds(raw["on"], where, c) if "on" in raw else None
    if c.problems() > before:
        return None
    return {
        "to": [a.strip() for a in to_list],
        "from": str(sender).strip(),
        "smtp_host": str(host).strip(),
        "smtp_port": port,
        "starttls": bool(starttls) and not implicit,
        "ssl": bool(implicit),
        "username_env": user_env,
        "password_env": pw_env,
        "ca_file": c.path(ca) if ca else None,
        "attach_report": bool(attach),
        "on": on,
    }


# -- sending -------------------------------------------------------------------------------------

class Letter(NamedTuple):
    """An e-mail's subject, plain-text body and attachment (file name, bytes), if any."""

    subject: str
    body: str
    attachment: tuple[str, bytes] | None


def compose(cfg: Mapping[str, Any], news: News) -> Letter:
    """The e-mail: the subject that counts the changes, the plain text (:func:`plain`
    escaping), and the HTML report attached unless ``attach_report`` is false."""
    attach = None
    if news.report is not None and cfg.get("attach_report", True):
        attach = (news.report[0], news.report[1]())
    body = text(news.change, news.report_url, attach[0] if attach else None)
    return Letter(subject(news.change), body, attach)


def send(cfg: Mapping[str, Any], letter: Letter, timeout: float) -> str:
    """Send ``letter`` through the relay: TLS checked against the system's CAs (or
    ``ca_file``) before any login; a relay that does not offer STARTTLS when it is asked for
    gets nothing."""
    user = env(cfg.get("username_env"), "username_env")
    password = env(cfg.get("password_env"), "password_env")
    msg = EmailMessage()
    msg["Subject"] = letter.subject
    msg["From"] = cfg["from"]
    msg["To"] = ", ".join(cfg["to"])
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid("undone", domain=str(cfg["from"]).rpartition("@")[2])
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(letter.body)
    if letter.attachment is not None:
        name, data = letter.attachment
        msg.add_attachment(data, maintype="text", subtype="html", filename=name)
    ctx = ssl.create_default_context(cafile=cfg.get("ca_file"))
    host, port = cfg["smtp_host"], int(cfg["smtp_port"])
    local = socket.gethostname() or "localhost"  # no DNS lookup: the scanner may have none
    try:
        smtp: smtplib.SMTP
        if cfg.get("ssl"):
            smtp = smtplib.SMTP_SSL(host, port, local_hostname=local, timeout=timeout,
                                    context=ctx)
        else:
            smtp = smtplib.SMTP(host, port, local_hostname=local, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if cfg.get("starttls", True) and not cfg.get("ssl"):
                if not smtp.has_extn("starttls"):
                    raise NotSent(f"{host}:{port} does not offer STARTTLS, which the inventory "
                                  "asks for (notify.email.starttls); not sent")
                smtp.starttls(context=ctx)
                smtp.ehlo()
            if user is not None and password is not None:
                smtp.login(user, password)
            refused = smtp.send_message(msg)
    except smtplib.SMTPAuthenticationError as e:
        raise NotSent(f"{host}:{port} refused the login ({e.smtp_code})") from None
    except smtplib.SMTPRecipientsRefused as e:
        raise NotSent(f"{host}:{port} refused every recipient: "
                      f"{', '.join(sorted(e.recipients))}") from None
    except ssl.SSLError as e:
        raise NotSent(f"TLS with {host}:{port} failed: {e.reason or e}") from None
    except (smtplib.SMTPException, OSError) as e:
        raise NotSent(f"SMTP to {host}:{port} failed: {type(e).__name__}: {e}") from None
    sent = [a for a in cfg["to"] if a not in refused]
    return f"email sent to {', '.join(sent)} via {host}:{port}"
