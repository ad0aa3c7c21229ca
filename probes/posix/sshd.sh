# undone section posix.sshd: the OpenSSH server's effective settings.
# Reads: `sshd -V` (version), `sshd -T` (the effective configuration, which needs root because
# sshd loads its host keys) and, when that cannot run or fails, the configuration files:
# /etc/ssh/sshd_config and the files its Include lines name (up to 4 levels deep), without
# comment and blank lines.
# Privilege: root for `sshd -T`; another user gets the files when they are readable, and the
# parser fills unset keys with OpenSSH's defaults for the version. Writes nothing.
undone_need awk grep tr id
if ! command -v sshd >/dev/null 2>&1; then
  undone_begin sshd; printf 'sshd: command not found\n'; undone_end 127
else
  undone_begin sshd; command -v sshd; undone_end 0
  undone_cmd version sshd -V
  _ssh_files=yes
  if [ "$(id -u)" = 0 ]; then
    undone_begin sshd_T
    undone_pipe sshd -T
    _ssh_rc=$?
    undone_end "$_ssh_rc"
    [ "$_ssh_rc" = 0 ] && _ssh_files=no
  else
    undone_begin sshd_T; printf 'sshd -T needs root\n'; undone_end 126
  fi
  if [ "$_ssh_files" = yes ]; then
    # breadth first from sshd_config through its Include lines (globs, as sshd expands them):
    # at most 5 levels, 64 files and 32 Include words a file, whatever the files say. The queue
    # holds one path a line; a path with a line break or a tab cannot be listed: its block says
    # so (the parser then trusts no setting of the files)
    _ssh_ifs=$IFS
    IFS='
'
    _ssh_queue=/etc/ssh/sshd_config
    _ssh_seen='
'
    _ssh_n=0
    _ssh_depth=0
    while [ -n "$_ssh_queue" ] && [ "$_ssh_depth" -lt 5 ]; do
      _ssh_next=
      _ssh_q=0
      set -f
      for _ssh_f in $_ssh_queue; do
        case "$_ssh_seen" in *"
$_ssh_f
"*) continue ;; esac
        [ "$_ssh_n" -ge 64 ] && break
        _ssh_seen="$_ssh_seen$_ssh_f
"
        _ssh_n=$((_ssh_n + 1))
        undone_begin "config.$_ssh_n"
        printf '# undone-path: %s\n' "$_ssh_f"
        if [ ! -e "$_ssh_f" ]; then undone_end 2; continue; fi
        if [ ! -r "$_ssh_f" ]; then undone_end 126; continue; fi
        grep -v -E '^[[:space:]]*(#|$)' "$_ssh_f" | undone_esc
        undone_end 0
        for _ssh_p in $(awk 'tolower($1) == "include" { for (i = 2; i <= NF; i++) print $i }
                              tolower($1) ~ /^include=/ { sub(/^[^=]*=/, ""); print }' "$_ssh_f" |
                        tr -d '"' | head -n 32); do
          case "$_ssh_p" in /*) ;; *) _ssh_p="/etc/ssh/$_ssh_p" ;; esac
          set +f
          for _ssh_g in $_ssh_p; do
            [ "$_ssh_q" -ge 64 ] && break
            [ -e "$_ssh_g" ] || continue
            if ! undone_plain "$_ssh_g"; then
              _ssh_n=$((_ssh_n + 1))
              undone_begin "config.$_ssh_n"
              printf '# undone-path: '; undone_name "$_ssh_g"; printf '\n'
              printf '# undone-unlisted: the name holds a line break or a tab\n'
              undone_end 126
              continue
            fi
            _ssh_next="$_ssh_next$_ssh_g
"
            _ssh_q=$((_ssh_q + 1))
          done
          set -f
        done
      done
      set +f
      _ssh_queue=$_ssh_next
      _ssh_depth=$((_ssh_depth + 1))
    done
    IFS=$_ssh_ifs
  fi
fi
# last, an empty block: the parser can tell a complete output from a cut one
undone_begin end
undone_end 0
