# undone section posix.sshd: the OpenSSH server's effective settings.
# Reads: `sshd -V` (version), `sshd -T` (the effective configuration, which needs root because
# sshd loads its host keys) and, when that cannot run or fails, the configuration files:
# /etc/ssh/sshd_config and the files its Include lines name (up to 4 levels deep), without
# comment and blank lines.
# Privilege: root for `sshd -T`; another user gets the files when they are readable, and the
# parser fills unset keys with OpenSSH's defaults for the version. Writes nothing.
if ! command -v sshd >/dev/null 2>&1; then
  undone_begin sshd; printf 'sshd: command not found\n'; undone_end 127
else
  undone_begin sshd; command -v sshd; undone_end 0
  undone_cmd version sshd -V
  _ssh_files=yes
  if [ "$(id -u)" = 0 ]; then
    undone_begin sshd_T
    sshd -T </dev/null 2>&1
    _ssh_rc=$?
    undone_end "$_ssh_rc"
    [ "$_ssh_rc" = 0 ] && _ssh_files=no
  else
    undone_begin sshd_T; printf 'sshd -T needs root\n'; undone_end 126
  fi
  if [ "$_ssh_files" = yes ]; then
    _ssh_queue=/etc/ssh/sshd_config
    _ssh_seen=' '
    _ssh_n=0
    _ssh_depth=0
    while [ -n "$_ssh_queue" ] && [ "$_ssh_depth" -lt 5 ]; do
      _ssh_next=
      for _ssh_f in $_ssh_queue; do
        case "$_ssh_seen" in *" $_ssh_f "*) continue ;; esac
        _ssh_seen="$_ssh_seen$_ssh_f "
        _ssh_n=$((_ssh_n + 1))
        undone_begin "config.$_ssh_n"
        printf '# undone-path: %s\n' "$_ssh_f"
        if [ ! -e "$_ssh_f" ]; then undone_end 2; continue; fi
        if [ ! -r "$_ssh_f" ]; then undone_end 126; continue; fi
        grep -v -E '^[[:space:]]*(#|$)' "$_ssh_f"
        undone_end 0
        for _ssh_p in $(awk 'tolower($1) == "include" { for (i = 2; i <= NF; i++) print $i }
                              tolower($1) ~ /^include=/ { sub(/^[^=]*=/, ""); print }' "$_ssh_f" |
                        tr -d '"'); do
          case "$_ssh_p" in /*) ;; *) _ssh_p="/etc/ssh/$_ssh_p" ;; esac
          for _ssh_g in $_ssh_p; do
            [ -e "$_ssh_g" ] && _ssh_next="$_ssh_next $_ssh_g"
          done
        done
      done
      _ssh_queue=$_ssh_next
      _ssh_depth=$((_ssh_depth + 1))
    done
  fi
fi
# last, an empty block: the parser can tell a complete output from a cut one
undone_begin end
undone_end 0
