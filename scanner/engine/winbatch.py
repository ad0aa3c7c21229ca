"""One batch per Windows host: every needed PowerShell section in one script, sent once on
standard input, framed by the same per-run markers as the POSIX batch
(:mod:`scanner.engine.batch`), so the same :class:`~scanner.engine.batch.Splitter` takes the
output apart.

How it runs on the target. The command line is a fixed bootstrap of a few hundred bytes
(:data:`BOOTSTRAP`, passed with ``-EncodedCommand``) that reads the whole of standard input and
runs it as one script block; the batch itself never appears on a command line, so its size is not
bounded by the ~8 K limit that breaks ``run_ps`` (pywinrm#184), and it is not fed through
``-Command -``, which runs standard input line by line like an interactive console (a multi-line
block only runs after an empty line; PowerShell#3223, PowerShell#2068). Ansible's WinRM connection
sends its modules the same way.

In the batch, each section runs in a runspace of its own (``[PowerShell]::Create()``) with the
prelude (``probes/windows/_prelude.ps1``) before its script, and is waited for at most the section
time limit:

* a section ends by writing one JSON document (its result object) on standard output, between
  ``==undone:<nonce>:BEGIN:<name>==`` and ``==undone:<nonce>:END:<name>:<code>==``; code 0;
* a section that throws writes nothing on standard output and one line naming the error on
  standard error (code 1), and the batch goes on with the next section;
* a section still running at its limit is abandoned (code 124, "timed out"): a runspace blocked in
  a COM call (a Windows Update search, say) cannot be interrupted, so it is left behind and the
  batch ends the process with ``[Environment]::Exit`` once every section has had its turn.

The nonce is made for this connection only and is split over two variables in the script, so the
script's own text never contains a marker; output of a section (a registry value, an event log
message) cannot end it early or forge another. Per-section variables (the ``environment`` hook of
:mod:`probes`) are set in the process environment for that section only, from standard input.
The whole batch is ASCII: PowerShell reads standard input in the console's code page, and ASCII
reads the same in every one of them.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

from probes import Section, prelude
from scanner.engine.batch import DEFAULT_SECTION_TIMEOUT, Batch

#: what runs on the command line: read standard input to the end and run it as a script block
BOOTSTRAP = (
    "try{[Console]::OutputEncoding=New-Object System.Text.UTF8Encoding $false}catch{$null=$_};"
    "$undone_batch=$input|Out-String;"
    "& ([ScriptBlock]::Create($undone_batch))"
)

#: the command and its arguments, run by the WinRM shell (cmd.exe starts powershell.exe)
COMMAND = "powershell.exe"


def arguments() -> list[str]:
    encoded = base64.b64encode(BOOTSTRAP.encode("utf-16-le")).decode("ascii")
    return ["-NoProfile", "-NonInteractive", "-EncodedCommand", encoded]


_HEADER = """\
# undone batch (Windows PowerShell 5.1 and later): read-only probe sections, run once, writing
# nothing on this machine. Each section runs in its own runspace with a time limit; its result is
# written as JSON between markers that carry a nonce made for this run only.
$ProgressPreference = 'SilentlyContinue'
$ErrorActionPreference = 'Continue'
"""

_RUNNER = r"""
function undone_mark([string]$what) {
  $line = "`n==undone:" + $undone_u1 + $undone_u2 + ":" + $what + "==`n"
  [Console]::Out.Write($line)
  [Console]::Error.Write($line)
}
function undone_section([string]$name, [string]$body, [int]$limit, [hashtable]$vars) {
  undone_mark ("BEGIN:" + $name)
  $code = 0
  $ps = $null
  $abandoned = $false
  try {
    foreach ($k in $vars.Keys) { [Environment]::SetEnvironmentVariable($k, $vars[$k], 'Process') }
    $ps = [PowerShell]::Create()
    $null = $ps.AddScript('$undone_limit = ' + $limit + "`n" + $undone_prelude + "`n" + $body)
    $handle = $ps.BeginInvoke()
    if ($handle.AsyncWaitHandle.WaitOne($limit * 1000)) {
      $out = $ps.EndInvoke($handle)
      if ($out.Count -gt 0) { [Console]::Out.Write([string]$out[$out.Count - 1]) }
      if ($ps.Streams.Error.Count -gt 0) {
        $first = [string]$ps.Streams.Error[0]
        $n = $ps.Streams.Error.Count
        [Console]::Error.Write("note: " + $n + " non-terminating error(s); first: " + $first)
      }
    } else {
      $code = 124
      $abandoned = $true
      $null = $ps.BeginStop($null, $null)
      [Console]::Error.Write($name + ": timed out after " + $limit + " s")
    }
  } catch {
    $code = 1
    $e = $_.Exception
    while ($e.InnerException -ne $null) { $e = $e.InnerException }
    $text = ($e.GetType().Name + ": " + $e.Message) -replace "[`r`n]+", " "
    [Console]::Error.Write($name + ": " + $text)
  } finally {
    foreach ($k in $vars.Keys) { [Environment]::SetEnvironmentVariable($k, $null, 'Process') }
    if ($ps -ne $null -and -not $abandoned) { $ps.Dispose() }
  }
  undone_mark ("END:" + $name + ":" + $code)
}
"""

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_SECTION_NAME = re.compile(r"^windows\.[a-z0-9_]+$")


def quote(text: str) -> str:
    """A PowerShell single-quoted string literal. PowerShell also takes the typographic quotes
    (U+2018, U+2019, U+201A, U+201B) as single quotes, so anything outside ASCII is refused rather
    than risked."""
    if not text.isascii():
        bad = next(c for c in text if not c.isascii())
        raise ValueError(f"non-ASCII character {bad!r} (U+{ord(bad):04X}) in a PowerShell literal")
    return "'" + text.replace("'", "''") + "'"


def body_of(section: Section) -> str:
    """The text a section runs: the family prelude, then its script (what its digest covers)."""
    return prelude(section.family) + "\n" + section.script


def build(
    sections: list[Section],
    section_timeout: int = DEFAULT_SECTION_TIMEOUT,
    env: dict[str, dict[str, str]] | None = None,
) -> Batch:
    """The PowerShell batch for ``sections`` (those of the ``windows`` family; others are left
    out). ``env`` gives, per section, variables set for that section only."""
    sections = [s for s in sections if s.family == "windows"]
    nonce = secrets.token_hex(16)
    half = len(nonce) // 2
    pre = prelude("windows")
    lines = [
        _HEADER,
        f"$undone_u1 = '{nonce[:half]}'; $undone_u2 = '{nonce[half:]}'",
        f"$undone_prelude = {quote(pre)}",
        _RUNNER,
    ]
    digests: dict[str, str] = {}
    for s in sections:
        if not _SECTION_NAME.match(s.name):
            raise ValueError(f"bad section name {s.name!r}")
        digests[s.name] = hashlib.sha256(body_of(s).encode("utf-8")).hexdigest()
        pairs = []
        for name, value in (env or {}).get(s.name, {}).items():
            if not _ENV_NAME.match(name):
                raise ValueError(f"bad environment variable name {name!r} for {s.name}")
            pairs.append(f"{name} = {quote(value)}")
        table = "@{" + "; ".join(pairs) + "}"
        lines.append(
            f"undone_section {quote(s.name)} {quote(s.script)} {int(section_timeout)} {table}"
        )
    lines.append("[Console]::Out.Flush()")
    lines.append("[Console]::Error.Flush()")
    lines.append("[Environment]::Exit(0)")
    return Batch("\n".join(lines) + "\n", nonce, tuple(s.name for s in sections), digests)


_SECTION_CALL = re.compile(r"^undone_section '(windows\.[a-z0-9_]+)' ", re.MULTILINE)
_NONCE = re.compile(r"^\$undone_u1 = '([0-9a-f]+)'; \$undone_u2 = '([0-9a-f]+)'$", re.MULTILINE)


def sections_in(script: str) -> tuple[str, list[str]]:
    """The nonce and the section names of a batch script, in order (for the WS-Management test
    server, which answers a batch the way the real runner would)."""
    m = _NONCE.search(script)
    if m is None:
        raise ValueError("not an undone PowerShell batch (no nonce)")
    return m.group(1) + m.group(2), _SECTION_CALL.findall(script)
