# undone section posix.accounts: local accounts, who is an administrator, sudo rules, last logins.
# Reads: /etc/passwd and /etc/group (only name, ids, shell and member fields), /etc/shadow (only
# whether each password field is empty, locked or set, and its date fields: the hash itself never
# leaves the target; needs root), /etc/sudoers and the files it includes, /etc/sudoers.d/* (need
# root), the passwd/group lines of /etc/nsswitch.conf, sshd's AuthorizedKeysFile setting
# (`sshd -T` as root, else the configuration files) and, for each account with a login shell, how
# many keys its authorized_keys files hold (a count only, never a key), and `lastlog`.
# Privilege: any user for passwd, group, nsswitch.conf and lastlog; root for shadow, sudoers and
# the authorized_keys files of other users. Writes nothing.
undone_need awk grep head tr id
_acc_awk() {
  # $1 block, $2 file, $3 awk program: prints the block, rc 2 absent / 126 unreadable
  undone_begin "$1"
  if [ ! -e "$2" ]; then undone_end 2; return 0; fi
  if [ ! -r "$2" ]; then undone_end 126; return 0; fi
  undone_pipe awk -F: "$3" "$2"
  undone_end $?
}
# shellcheck disable=SC2016
_acc_awk passwd /etc/passwd '{
  pw = ($2 == "") ? "empty" : ($2 == "x" ? "shadow" : ($2 ~ /^[!*]/ ? "locked" : "set"))
  print $1 ":" $3 ":" $4 ":" $7 ":" pw }'
# shellcheck disable=SC2016
# name:state:lock:last change:max days:inactive days:expiry day; lock is L when the password
# field starts with "!" (usermod -L / passwd -l), - otherwise
_acc_awk shadow /etc/shadow '{
  print $1 ":" (($2 == "") ? "empty" : ($2 ~ /^[!*]/ ? "locked" : "set")) ":" \
    (($2 ~ /^!/) ? "L" : "-") ":" $3 ":" $5 ":" $7 ":" $8 }'
# shellcheck disable=SC2016
_acc_awk group /etc/group '{ print $1 ":" $3 ":" $4 }'
undone_begin sudo
if command -v sudo; then undone_end 0; else printf 'sudo: command not found\n'; undone_end 127; fi
# /etc/sudoers and what it includes, breadth first: at most 5 levels, 64 files (an includedir
# lists up to 256 entries) and 32 include lines a file, whatever the files say; paths are taken
# one a line, never split on spaces or expanded as globs (sudo expands neither)
_acc_n=0
_acc_ifs=$IFS
IFS='
'
set -f
_acc_queue=/etc/sudoers
_acc_seen='
'
_acc_depth=0
while [ -n "$_acc_queue" ] && [ "$_acc_depth" -lt 5 ]; do
  _acc_next=
  for _acc_f in $_acc_queue; do
    case "$_acc_seen" in *"
$_acc_f
"*) continue ;; esac
    [ "$_acc_n" -ge 64 ] && break
    _acc_seen="$_acc_seen$_acc_f
"
    _acc_n=$((_acc_n + 1))
    undone_begin "sudoers.$_acc_n"
    printf '# undone-path: %s\n' "$_acc_f"
    if [ ! -e "$_acc_f" ]; then undone_end 2; continue; fi
    if [ ! -r "$_acc_f" ]; then undone_end 126; continue; fi
    if [ -d "$_acc_f" ]; then
      # an includedir: list it (sudo skips names ending in ~ or containing a dot)
      _acc_k=0
      set +f
      for _acc_g in "$_acc_f"/*; do
        [ -e "$_acc_g" ] || continue
        _acc_k=$((_acc_k + 1))
        [ "$_acc_k" -gt 256 ] && break
        if ! undone_plain "$_acc_g"; then
          case "${_acc_g##*/}" in *~ | *.*) continue ;; esac
          # sudo reads it; undone cannot list it: the parser says the rules are unknown
          printf '# undone-unlisted: '; undone_name "${_acc_g##*/}"; printf '\n'
          continue
        fi
        printf '# undone-file: %s\n' "$_acc_g"
        case "${_acc_g##*/}" in *~ | *.*) ;; *) _acc_next="$_acc_next$_acc_g
" ;; esac
      done
      set -f
      undone_end 0
      continue
    fi
    grep -v -E '^[[:space:]]*(#[^i@]|#$|$)' "$_acc_f" | head -n 1000 | undone_esc
    undone_end 0
    for _acc_p in $(awk '$1 ~ /^[#@]include(dir)?$/ { print $2 }' "$_acc_f" | tr -d '"' |
                    head -n 32); do
      case "$_acc_p" in /*) ;; *) _acc_p="/etc/$_acc_p" ;; esac
      _acc_next="$_acc_next$_acc_p
"
    done
  done
  _acc_queue=$_acc_next
  _acc_depth=$((_acc_depth + 1))
done
set +f
IFS=$_acc_ifs
undone_begin nsswitch
if [ ! -e /etc/nsswitch.conf ]; then undone_end 2
elif [ ! -r /etc/nsswitch.conf ]; then undone_end 126
else grep -E '^[[:space:]]*(passwd|group):' /etc/nsswitch.conf; undone_end 0; fi
# sshd's AuthorizedKeysFile, AuthorizedKeysCommand and PubkeyAuthentication: what `sshd -T` says
# (root), else the first value in the included files and then sshd_config, before any Match
_acc_src=default
_acc_sshd=
if [ "$(id -u)" = 0 ] && command -v sshd >/dev/null 2>&1 &&
  _acc_t=$(sshd -T </dev/null 2>/dev/null); then
  _acc_src=sshd-T
  _acc_sshd=$(printf '%s\n' "$_acc_t" |
    grep -i -E '^(authorizedkeysfile|authorizedkeyscommand|pubkeyauthentication) ')
elif [ -r /etc/ssh/sshd_config ]; then
  _acc_src=config
  _acc_inc=$(awk 'tolower($1) == "include" { for (i = 2; i <= NF; i++) print $i }' \
    /etc/ssh/sshd_config | tr -d '"' | head -n 32)
  _acc_files=
  _acc_k=0
  for _acc_p in $_acc_inc; do
    case "$_acc_p" in /*) ;; *) _acc_p="/etc/ssh/$_acc_p" ;; esac
    for _acc_g in $_acc_p; do
      [ "$_acc_k" -ge 64 ] && break
      case "$_acc_g" in *[!A-Za-z0-9_./-]*) continue ;; esac
      [ -r "$_acc_g" ] && _acc_files="$_acc_files $_acc_g" && _acc_k=$((_acc_k + 1))
    done
  done
  # shellcheck disable=SC2086
  _acc_sshd=$(awk 'FNR == 1 { inmatch = 0 }
    tolower($1) == "match" { inmatch = 1 }
    inmatch { next }
    { k = tolower($1) }
    k ~ /^(authorizedkeysfile|authorizedkeyscommand|pubkeyauthentication)$/ && !(k in seen) {
      seen[k] = 1; $1 = k; print }' $_acc_files /etc/ssh/sshd_config)
fi
_acc_akf=$(printf '%s\n' "$_acc_sshd" | awk 'tolower($1) == "authorizedkeysfile" {
  $1 = ""; sub(/^ +/, ""); print; exit }')
[ -n "$_acc_akf" ] || _acc_akf='.ssh/authorized_keys .ssh/authorized_keys2'
undone_begin keys
printf '# source: %s\n' "$_acc_src"
[ -z "$_acc_sshd" ] || printf '%s\n' "$_acc_sshd" | sed 's/^/# /'
if [ -r /etc/passwd ]; then
  # one line per account with a login shell and per AuthorizedKeysFile entry, %h %u %U %% expanded
  # shellcheck disable=SC2016
  awk -F: -v files="$_acc_akf" '
    function expand(t, h, u, id,    out, c, i) {
      out = ""
      for (i = 1; i <= length(t); i++) {
        c = substr(t, i, 1)
        if (c == "%" && i < length(t)) {
          i++; c = substr(t, i, 1)
          if (c == "h") out = out h; else if (c == "u") out = out u
          else if (c == "U") out = out id; else out = out c
        } else out = out c
      }
      if (substr(out, 1, 1) != "/") out = h "/" out
      return out
    }
    {
      sh = $7; sub(/\/+$/, "", sh); n = split(sh, parts, "/"); base = parts[n]
      if (base == "nologin" || base == "false" || base == "sync" || base == "halt" ||
          base == "shutdown") next
      if (tolower(files) == "none") { print $1 ":" "none"; next }
      m = split(files, list, " ")
      for (j = 1; j <= m; j++) if (list[j] != "") print $1 ":" expand(list[j], $6, $1, $3)
    }' /etc/passwd | while IFS= read -r _acc_line; do
    _acc_u=${_acc_line%%:*}
    _acc_f=${_acc_line#*:}
    if [ "$_acc_f" = none ]; then printf '%s:0\n' "$_acc_u"; continue; fi
    if [ -e "$_acc_f" ]; then
      if [ -r "$_acc_f" ]; then
        printf '%s:%s\n' "$_acc_u" "$(grep -c -v -E '^[[:space:]]*(#|$)' "$_acc_f")"
      else
        printf '%s:denied\n' "$_acc_u"
      fi
      continue
    fi
    # absent, or hidden behind a directory this user cannot search: find the nearest parent
    # that exists; if it can be searched, the file is truly absent
    _acc_d=${_acc_f%/*}
    while [ -n "$_acc_d" ] && [ ! -e "$_acc_d" ]; do _acc_d=${_acc_d%/*}; done
    if [ -z "$_acc_d" ] || [ ! -d "$_acc_d" ] || [ -x "$_acc_d" ]; then
      printf '%s:absent\n' "$_acc_u"
    else
      printf '%s:denied\n' "$_acc_u"
    fi
  done
  undone_end 0
else
  undone_end 126
fi
undone_cmd lastlog lastlog
# last, an empty block: the parser can tell a complete output from a cut one
undone_begin end
undone_end 0
