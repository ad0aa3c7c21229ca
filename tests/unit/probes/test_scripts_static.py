"""One static test for every shell and PowerShell script in the repository, found by walking it
(a new ``.sh``, ``.ps1`` or shell-shebang script is covered without a line here).

Shell scripts: shellcheck at its strictest severity (``style``) for the shell the script is run
with, and a syntax check by that shell (``dash -n`` and ``bash --posix -n`` for POSIX ``sh``, the
probes' shell on targets; ``bash -n`` for bash). A probe section is also checked as it runs: the
prelude and the section as one script, and the whole batch ``scanner.engine.batch`` sends.

PowerShell cannot run here, and is not in the package registries this project installs from, so
each ``.ps1`` is parsed by tree-sitter's PowerShell grammar (``tree-sitter-powershell``, from
PyPI): a script with a syntax error (an unclosed brace, string or here-string, a stray token) has
ERROR or MISSING nodes. The parse tree then shows every command a probe runs, which must read
only (DESIGN: probes never write, install or restart anything).

POSIX probes get the same read-only check at the token level: no command that writes a file, no
redirection but to /dev/null, no package-manager, service or firewall change, no network client.
(tests/unit/test_probe_*.py keep their per-tool lists beside this general one.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

ROOT = Path(__file__).resolve().parents[3]
PRUNE = {".git", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache",
         ".pytest_cache", "build", "dist", ".eggs"}
SHEBANG = re.compile(r"^#!\s*(?:/usr)?/bin/(?:env\s+)?(sh|bash|dash)\b")


def _walk() -> list[Path]:
    found = []
    for top, dirs, files in os.walk(ROOT):
        dirs[:] = sorted(d for d in dirs if d not in PRUNE and not d.endswith(".egg-info")
                         and not os.path.exists(os.path.join(top, d, "pyvenv.cfg")))
        for name in sorted(files):
            path = Path(top, name)
            if path.suffix in (".sh", ".ps1"):
                found.append(path)
            elif not path.suffix and path.is_file() and not path.is_symlink():
                with path.open("rb") as f:
                    if SHEBANG.match(f.readline(200).decode("latin-1")):
                        found.append(path)
    return found


SCRIPTS = _walk()
SHELL = [p for p in SCRIPTS if p.suffix != ".ps1"]
POWERSHELL = [p for p in SCRIPTS if p.suffix == ".ps1"]
POSIX_PROBES = sorted((ROOT / "probes" / "posix").glob("*.sh"))
WINDOWS_PROBES = sorted((ROOT / "probes" / "windows").glob("*.ps1"))


def _rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed (.ci/test.sh installs it: apt-get install {name})"
    return path


def shell_of(path: Path) -> str:
    """The shell a script is run with: its shebang's, or ``sh`` for a probe (the batch runs
    each section with ``sh -c``). Any other script must say."""
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    m = SHEBANG.match(first)
    if m:
        return "bash" if m.group(1) == "bash" else "sh"
    assert path.parent == ROOT / "probes" / "posix", f"{_rel(path)}: no #! line naming its shell"
    return "sh"


def test_every_script_is_found() -> None:
    names = {_rel(p) for p in SCRIPTS}
    assert {".ci/run", ".ci/test.sh", "probes/posix/os.sh", "probes/posix/_prelude.sh",
            "probes/windows/os.ps1", "tests/estate/host-init.sh"} <= names
    git = shutil.which("git")
    if git and (ROOT / ".git").exists():
        tracked = subprocess.run([git, "ls-files", "*.sh", "*.ps1"], cwd=ROOT, text=True,
                                 capture_output=True, check=True).stdout.split()
        assert set(tracked) <= names
    assert set(POSIX_PROBES) <= set(SHELL) and set(WINDOWS_PROBES) <= set(POWERSHELL)


# -- shell ---------------------------------------------------------------------------------------

def shellcheck(path: Path, shell: str, exclude: tuple[str, ...] = ()) -> str:
    """shellcheck's findings at severity style (all of them), or '' when clean."""
    ex = ["--exclude", ",".join(exclude)] if exclude else []
    p = subprocess.run([_tool("shellcheck"), "--shell", shell, "--severity", "style",
                        "--format", "gcc", "--norc", *ex, str(path)],
                       capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode in (0, 1), p.stderr
    return p.stdout + p.stderr


def syntax_errors(path: Path, shell: str) -> list[str]:
    """What each shell that runs the script says of its syntax (``-n``: read, never run)."""
    runs = ([[_tool("dash"), "-n"], [_tool("bash"), "--posix", "-n"]] if shell == "sh"
            else [[_tool("bash"), "-n"]])
    out = []
    for argv in runs:
        p = subprocess.run([*argv, str(path)], capture_output=True, text=True, timeout=60,
                           check=False)
        if p.returncode != 0:
            out.append(f"{' '.join(argv)}: {p.stderr.strip()}")
    return out


@pytest.mark.parametrize("path", SHELL, ids=_rel)
def test_shell_script_passes_shellcheck_and_its_shells_syntax_check(path: Path) -> None:
    shell = shell_of(path)
    assert syntax_errors(path, shell) == []
    assert shellcheck(path, shell) == ""


@pytest.mark.parametrize("path", [p for p in POSIX_PROBES if p.name != "_prelude.sh"],
                         ids=_rel)
def test_probe_section_as_it_runs_prelude_included(path: Path, tmp_path: Path) -> None:
    from probes import prelude

    whole = tmp_path / path.name
    whole.write_text(prelude("posix") + "\n" + path.read_text(encoding="utf-8"))
    assert syntax_errors(whole, "sh") == []
    assert shellcheck(whole, "sh") == ""


def test_the_posix_batch_as_sent(tmp_path: Path) -> None:
    from probes import sections
    from scanner.engine import batch

    secs = [s for s in sections().values() if s.family == "posix" and s.on_target]
    assert len(secs) >= len(POSIX_PROBES) - 1
    b = batch.build(secs, env={secs[0].name: {"UNDONE_X": "it's a value"}})
    script = tmp_path / "batch.sh"
    script.write_text(b.script)
    assert syntax_errors(script, "sh") == []
    # SC2016: each section is single-quoted on purpose (``sh -c`` expands it, and it is checked
    # on its own above); SC2089/SC2090: a value's quote is meant literally (its quoting is
    # batch._quote's, tested in test_batch.py)
    assert shellcheck(script, "sh", exclude=("SC2016", "SC2089", "SC2090")) == ""


# -- POSIX probes: read-only --------------------------------------------------------------------

def sh_code(text: str) -> str:
    """The script's code: comments dropped, single-quoted strings emptied (their text is data:
    an awk program, a format), continued lines joined."""
    out: list[str] = []
    i, n = 0, len(text)
    quote = ""
    while i < n:
        c = text[i]
        if quote == '"':
            if c == "\\":
                out.append(text[i:i + 2])
                i += 2
                continue
            if c == '"':
                quote = ""
            out.append(c)
        elif c == "'":
            j = text.find("'", i + 1)
            j = n if j < 0 else j
            out.append("''")
            i = j + 1
            continue
        elif c == '"':
            quote = '"'
            out.append(c)
        elif c == "\\" and text[i + 1:i + 2] == "\n":
            out.append(" ")
            i += 2
            continue
        elif c == "\\":
            out.append(text[i:i + 2])
            i += 2
            continue
        elif c == "#" and (i == 0 or text[i - 1] in " \t\n;&|("):
            while i < n and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


_CMD = r"(?:^|[;&|(`{!]|\$\(|\b(?:then|do|else|if|while|until|xargs|exec|command|env|sudo)\s)\s*"
# a command that writes, deletes, mounts, changes an account, reboots or opens a connection
WRITERS = ("rm", "rmdir", "touch", "tee", "mktemp", "mkdir", "cp", "mv", "ln", "chmod", "chown",
           "chgrp", "truncate", "shred", "install", "mount", "umount", "useradd",
           "usermod", "userdel", "groupadd", "groupmod", "passwd", "chpasswd", "crontab",
           "reboot", "shutdown", "halt", "poweroff", "killall", "pkill", "curl", "wget", "nc",
           "ncat", "telnet", "scp", "rsync", "logger", "systemd-run", "at")
# a tool that is read-only only with its read-only arguments: the tool, and what it must never
# be given (wherever it stands: a wrapper such as `undone_cmd name TOOL ARGS` runs it too)
SIMULATE = {"apt-get/apt": r"\s(?:-s|--simulate|--just-print|--dry-run|--no-act|--recon)\b"}
CHANGES = {
    "apt-get/apt": (r"apt(?:-get)?",
                    r"\s(?:install|upgrade|dist-upgrade|full-upgrade|remove|purge|autoremove|"
                    r"update|clean|autoclean|build-dep|source|download)\b"),
    "dpkg": (r"dpkg",
             r"\s(?:-[irPaB]\b|--(?:install|remove|purge|configure|unpack|set-selections|"
             r"clear-avail|update-avail|merge-avail))"),
    "dnf/yum": (r"(?:dnf|yum)",
                r"\s(?:install|upgrade|update|remove|erase|reinstall|downgrade|distro-sync|"
                r"autoremove|makecache|clean|swap|group|module|config-manager|-y)\b"),
    "zypper": (r"zypper",
               r"\s(?:in|install|up|update|patch|dup|dist-upgrade|rm|remove|ref|refresh|ar|"
               r"addrepo|rr|removerepo|-n)\b"),
    "rpm": (r"rpm",
            r"\s(?:-[iUFe]\w*|--(?:install|upgrade|freshen|erase|import|rebuilddb|initdb))\b"),
    "pacman": (r"pacman", r"\s-[SRUD]\w*"),
    "apk": (r"apk", r"\s(?:add|del|upgrade|update|fix|cache)\b"),
    "pkg": (r"pkg",
            r"\s(?:install|upgrade|update|delete|remove|autoremove|lock|unlock|clean|set)\b"),
    "brew": (r"brew",
             r"\s(?:install|upgrade|update|uninstall|remove|reinstall|tap|untap|cleanup|link|"
             r"unlink|pin|services)\b"),
    "snap": (r"snap",
             r"\s(?:install|refresh|remove|enable|disable|revert|set|unset|switch|connect|"
             r"disconnect)\b"),
    "flatpak": (r"flatpak",
                r"\s(?:install|update|uninstall|remote-add|remote-delete|remote-modify|repair|"
                r"override|mask|pin)\b"),
    "softwareupdate": (r"softwareupdate",
                       r"\s(?:-i|--install|-a|--all|-d|--download|--schedule|--background)\b"),
    "systemctl": (r"systemctl",
                  r"\s(?:start|stop|restart|reload|try-restart|reload-or-restart|enable|disable|"
                  r"reenable|mask|unmask|daemon-reload|kill|isolate|set-property|edit|preset|"
                  r"link|revert|reboot|poweroff|halt|set-default|reset-failed)\b"),
    "service": (r"service",
                r"\s\S+\s+(?:start|stop|restart|reload|force-reload)\b"),
    "sysctl": (r"sysctl", r"\s-w\b|\s--write\b|\S=\S"),
    "iptables": (r"ip6?tables",
                 r"\s(?:-[AIDFPNXRZE]\b|--(?:append|insert|delete|flush|policy|new-chain|"
                 r"delete-chain|replace|zero|rename-chain))"),
    "nft": (r"nft",
            r"\s(?:add|delete|flush|insert|replace|create|destroy|reset|rename|-f)\b"),
    "ufw": (r"ufw",
            r"\s(?:enable|disable|allow|deny|reject|limit|reset|reload|delete|insert|default|"
            r"logging|route)\b"),
    "firewall-cmd": (r"firewall-cmd",
                     r"--(?:add|remove|reload|complete-reload|set|permanent|new|delete|change|"
                     r"runtime-to-permanent|panic-on|lockdown-on)"),
    "sed -i": (r"sed", r"\s(?:-\w*i\w*|--in-place)\b"),
    # bare (it updates the signatures) or with any option but --version; a word after it is a
    # list (`for c in clamscan freshclam sigtool`)
    "freshclam": (r"freshclam", r"^\s*(?:$|[;&|)}]|-(?!-version\b|V\b))"),
    "dd": (r"dd", r"\sof=(?!/dev/null\b)"),
    "tar/unzip": (r"(?:tar|unzip|cpio)",
                  r"\s(?:-\w*x\w*|--extract|-o)\b|^\s+[a-wyz]*x"),
}


def read_only_problems(text: str) -> list[str]:
    """Why a POSIX probe script is not read-only (empty: it reads only)."""
    code = sh_code(text)
    problems = []
    for word in WRITERS:
        for m in re.finditer(_CMD + re.escape(word) + r"(?=[\s;)]|$)", code, re.M):
            problems.append(f"runs {word}: {m.group(0).strip()!r}")
    # every redirection goes to /dev/null or merges streams; nothing writes a file
    rest = re.sub(r"\d?>\s*/dev/null|\d?>&\d|&>\s*/dev/null", "", code)
    for what, (tool, bad) in CHANGES.items():
        # the word itself, not part of a path or a name (/etc/dnf/, freshclam.conf, $nft)
        for m in re.finditer(rf"(?<![-\w./@$]){tool}(?![-\w./@])(?P<a>[^;&|\n]*)", rest):
            if re.search(r"(?:command\s+-[vV]|which|type|hash)\s+$", rest[:m.start()]):
                continue  # asks whether the tool is there
            args = m.group("a")
            if re.search(bad, args) and not (what in SIMULATE and re.search(SIMULATE[what],
                                                                           args)):
                problems.append(f"changes the system with {what}: {m.group(0).strip()[:80]!r}")
    for m in re.finditer(r"\d?>>?\|?\s*[^\s&)]\S*", rest):
        problems.append(f"writes a file: {m.group(0)!r}")
    return problems


@pytest.mark.parametrize("path", POSIX_PROBES, ids=_rel)
def test_posix_probe_is_read_only(path: Path) -> None:
    assert read_only_problems(path.read_text(encoding="utf-8")) == []


# -- PowerShell ----------------------------------------------------------------------------------

@cache
def _parser() -> Parser:
    return Parser(Language(tree_sitter_powershell.language()))


def ps_tree(text: str) -> Node:
    return _parser().parse(text.encode("utf-8")).root_node


def _nodes(node: Node) -> list[Node]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(n.children))
    return out


def ps_syntax_errors(text: str) -> list[str]:
    errors = []
    for n in _nodes(ps_tree(text)):
        if n.type == "ERROR" or n.is_missing:
            what = f"missing {n.type}" if n.is_missing else "cannot parse"
            snippet = (n.text or b"").decode("utf-8", "replace")[:60]
            errors.append(f"line {n.start_point[0] + 1}: {what}: {snippet!r}")
    return errors


# Cmdlet verbs that only read (or only shape what was read); a probe's every command is one of
# these, a function of the prelude or the script (undone_*), or a command below.
# (not Test-: Test-Connection opens a connection; not Format-: Format-Volume)
READ_VERBS = {"Get", "Select", "Where", "ForEach", "Sort", "Measure", "Group", "Compare",
              "ConvertTo", "ConvertFrom", "Join", "Split"}
READ_COMMANDS = {
    "Test-Path": "whether a path exists",
    "New-Object": "makes a .NET object in memory (a COM update searcher, a list)",
    "Import-Module": "loads a module's commands into the session (Veeam's, to read its jobs)",
    "Out-String": "formats in memory", "Out-Null": "discards",
    "Write-Output": "writes to the output stream",
}
# .NET methods that change the machine (registry, files, processes, services)
WRITE_METHODS = re.compile(
    r"^(?:Set\w*|Delete\w*|CreateSubKey|CreateDirectory|CreateText|OpenWrite|Write\w*|"
    r"Append\w*|Kill|Install\w*|Uninstall\w*|Download\w*|Put_?|Save\w*|Commit\w*|Move\w*|"
    r"Copy\w*|Flush|Encrypt|Decrypt|Replace|Start)$")
# native programs a probe may run through undone_native, and why each is read-only as called
NATIVE = {"net.exe": "`net accounts` with no /switch shows the policy; a /switch would set it"}


def ps_read_only_problems(text: str, functions: set[str]) -> list[str]:
    """Why a Windows probe script could change the machine (empty: it reads only)."""

    def text_of(n: Node | None) -> str:
        return "" if n is None else (n.text or b"").decode("utf-8", "replace")

    problems = []
    nodes = _nodes(ps_tree(text))
    defined = functions | {text_of(n.child_by_field_name("function_name")) or
                           text_of(next((c for c in n.children if c.type == "function_name"),
                                        None))
                           for n in nodes if n.type == "function_statement"}
    for n in nodes:
        if n.type == "command":
            name_node = next((c for c in n.children if c.type in ("command_name",
                                                                   "command_name_expr")), None)
            name = text_of(name_node)
            if name.startswith("$"):
                continue  # `& $read`: a script block of this script, checked where written
            verb = name.split("-", 1)[0]
            if name in defined or name in READ_COMMANDS or (
                    "-" in name and verb in READ_VERBS):
                if name == "undone_native":
                    args = text_of(next((c for c in n.children
                                         if c.type == "command_elements"), None))
                    exe = args.split()[0].strip("'\"") if args.split() else ""
                    if exe not in NATIVE or re.search(r"['\"]/", args):
                        problems.append(f"runs {exe or '?'} {args[len(exe) + 2:]!r}")
                continue
            problems.append(f"runs {name!r}, which may change the machine")
        elif n.type == "invokation_expression":
            member = next((c for c in n.children if c.type == "member_name"), None)
            method = text_of(member)
            if WRITE_METHODS.match(method):
                problems.append(f"calls .{method}(): {text_of(n)[:80]!r}")
            if method == "OpenSubKey" and "," in text_of(n).split("OpenSubKey", 1)[1]:
                problems.append(f"opens a registry key writable: {text_of(n)[:80]!r}")
    if re.search(r"(?<![\w-])(?:\d?>>?)(?!\s*\$null|&)", _ps_code(text)):
        problems.append("redirects output to a file")
    return problems


def _ps_code(text: str) -> str:
    """The script without comments and string contents (what a redirection could be in)."""
    text = re.sub(r"<#.*?#>", "", text, flags=re.S)
    text = re.sub(r"@'\n.*?\n'@|@\"\n.*?\n\"@", "''", text, flags=re.S)
    text = re.sub(r"'(?:[^']|'')*'", "''", text)
    text = re.sub(r'"(?:[^"`]|`.)*"', '""', text)
    text = re.sub(r"#[^\n]*", "", text)
    return re.sub(r"-(?:gt|ge|lt|le)\b", "", text)


@cache
def _prelude_functions() -> set[str]:
    names = set()
    for n in _nodes(ps_tree((ROOT / "probes" / "windows" / "_prelude.ps1").read_text())):
        if n.type == "function_statement":
            fn = next((c for c in n.children if c.type == "function_name"), None)
            if fn is not None and fn.text:
                names.add(fn.text.decode())
    return names


@pytest.mark.parametrize("path", POWERSHELL, ids=_rel)
def test_powershell_script_parses(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.isascii(), "non-ASCII text in a PowerShell script (PowerShell 5.1 reads it " \
                           "as the ANSI code page)"
    assert ps_syntax_errors(text) == []


@pytest.mark.parametrize("path", WINDOWS_PROBES, ids=_rel)
def test_windows_probe_is_read_only(path: Path) -> None:
    assert len(_prelude_functions()) >= 5
    assert ps_read_only_problems(path.read_text(encoding="utf-8"), _prelude_functions()) == []


def test_the_windows_batch_as_sent_parses() -> None:
    from probes import sections
    from scanner.engine import winbatch

    secs = [s for s in sections().values() if s.family == "windows"]
    assert len(secs) == len(WINDOWS_PROBES) - 1
    b = winbatch.build(secs, env={secs[0].name: {"UNDONE_X": "it's a value"}})
    assert ps_syntax_errors(b.script) == []
    assert ps_syntax_errors(winbatch.BOOTSTRAP) == []


# -- the checks themselves catch what they are for ----------------------------------------------

def test_the_shell_checks_fail_on_broken_scripts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/bin/sh\nif [ -n \"$1\" ]; then\n  echo x\n")  # no fi
    assert syntax_errors(bad, "sh") and syntax_errors(bad, "bash")
    bashism = tmp_path / "bashism.sh"
    bashism.write_text("#!/bin/sh\nx=(a b)\necho \"${x[1]}\"\n")
    assert syntax_errors(bashism, "sh")  # dash cannot read an array
    lint = tmp_path / "lint.sh"
    lint.write_text("#!/bin/sh\nfor f in $(ls /etc); do echo $f; done\n")
    assert "SC2045" in shellcheck(lint, "sh") and "SC2086" in shellcheck(lint, "sh")


@pytest.mark.parametrize("line", [
    "rm -f /tmp/x", "x=$(mktemp)", "printf 'a' > /tmp/out", "echo a >>\"$HOME/log\"",
    "apt-get -q install curl", "apt-get update", "dnf -y upgrade", "yum install x",
    "zypper --non-interactive in x", "rpm -ivh x.rpm", "pacman -Syu", "apk add x",
    "pkg install -y x", "snap refresh", "systemctl restart sshd", "service ssh restart",
    "sysctl -w net.ipv4.ip_forward=1", "iptables -F INPUT", "nft flush ruleset",
    "ufw enable", "firewall-cmd --permanent --add-port=22/tcp", "sed -i s/a/b/ /etc/x",
    "freshclam", "curl -s https://example.org", "{ cat /etc/passwd | tee /tmp/p; }",
    "dpkg -i x.deb", "command cp a b", "if true; then chmod 600 /etc/x; fi",
    "dd if=/dev/zero of=/tmp/x", "undone_cmd x apt-get -y install x", "freshclam >/dev/null",
])
def test_the_posix_read_only_check_catches_writes(line: str) -> None:
    assert read_only_problems(f"# undone section posix.x: a test\n{line}\n"), line


def test_the_posix_read_only_check_passes_reads() -> None:
    ok = ("apt-get -s -o Debug::NoLocking=true upgrade 2>&1\ndnf -C -q check-update </dev/null\n"
          "dnf -C -q updateinfo list --security\nrpm -qi bash\nsystemctl is-enabled x 2>&1\n"
          "nft list ruleset 2>/dev/null\niptables -S INPUT\nufw status verbose\n"
          "freshclam --version\ncommand -v freshclam >/dev/null 2>&1\n"
          "for c in clamscan freshclam sigtool; do :; done\ndd if=/x bs=512 count=1\nawk '{ print > \"/dev/stderr\" }' /etc/x\n"
          "# rm -rf / in a comment\nprintf 'cp a b; rm c\\n' >&2\n")
    assert read_only_problems(ok) == []


@pytest.mark.parametrize("script", [
    "if ($x) { Get-Item 'a' ",  # unclosed brace
    "$s = \"unclosed\nGet-Date\n",
    "$h = @'\nno end of the here-string\n",
    "Get-Item -Path 'a' |\n| Select-Object\n",
])
def test_the_powershell_parse_catches_syntax_errors(script: str) -> None:
    assert ps_syntax_errors(script), script


@pytest.mark.parametrize("script", [
    "Set-ItemProperty -Path 'HKLM:\\x' -Name y -Value 1",
    "Restart-Service WinRM", "Install-Module Foo", "New-Item -Path C:\\x -ItemType File",
    "Remove-Item C:\\x", "Stop-Process -Id 4",
    "$k = [Microsoft.Win32.Registry]::LocalMachine.OpenSubKey('x', $true)",
    "$k.SetValue('a', 1)", "[IO.File]::WriteAllText('C:\\x', 'y')",
    "Get-Date | Out-File C:\\x.txt", "Get-Date > C:\\x.txt",
    "undone_native 'net.exe' @('accounts', '/maxpwage:1')",
    "undone_native 'sc.exe' @('config', 'x')",
    "Invoke-WebRequest https://example.org", "Format-Volume -DriveLetter D",
    "Test-NetConnection 192.0.2.1 -Port 443", "& 'C:\\Tools\\fix.exe' /all",
])
def test_the_powershell_read_only_check_catches_writes(script: str) -> None:
    assert ps_read_only_problems(script, _prelude_functions()), script
