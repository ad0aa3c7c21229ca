# undone section posix.accounts: local accounts, who is an administrator, sudo rules, last logins.
# Reads: /etc/passwd and /etc/group (only name, ids, shell and member fields), /etc/shadow (only
# whether each password field is empty, locked or set: the hash itself never leaves the target;
# needs root), /etc/sudoers and the files it includes, /etc/sudoers.d/* (need root), `lastlog`.
# Privilege: any user for passwd, group and lastlog; root for shadow and sudoers. Writes nothing.
_acc_awk() {
  # $1 block, $2 file, $3 awk program: prints the block, rc 2 absent / 126 unreadable
  undone_begin "$1"
  if [ ! -e "$2" ]; then undone_end 2; return 0; fi
  if [ ! -r "$2" ]; then undone_end 126; return 0; fi
  awk -F: "$3" "$2"
  undone_end $?
}
# shellcheck disable=SC2016
_acc_awk passwd /etc/passwd '{
  pw = ($2 == "") ? "empty" : ($2 == "x" ? "shadow" : ($2 ~ /^[!*]/ ? "locked" : "set"))
  print $1 ":" $3 ":" $4 ":" $7 ":" pw }'
# shellcheck disable=SC2016
_acc_awk shadow /etc/shadow '{
  print $1 ":" (($2 == "") ? "empty" : ($2 ~ /^[!*]/ ? "locked" : "set")) }'
# shellcheck disable=SC2016
_acc_awk group /etc/group '{ print $1 ":" $3 ":" $4 }'
undone_begin sudo
if command -v sudo; then undone_end 0; else printf 'sudo: command not found\n'; undone_end 127; fi
_acc_n=0
_acc_queue=/etc/sudoers
_acc_seen=' '
_acc_depth=0
while [ -n "$_acc_queue" ] && [ "$_acc_depth" -lt 5 ]; do
  _acc_next=
  for _acc_f in $_acc_queue; do
    case "$_acc_seen" in *" $_acc_f "*) continue ;; esac
    _acc_seen="$_acc_seen$_acc_f "
    _acc_n=$((_acc_n + 1))
    undone_begin "sudoers.$_acc_n"
    printf '# undone-path: %s\n' "$_acc_f"
    if [ ! -e "$_acc_f" ]; then undone_end 2; continue; fi
    if [ ! -r "$_acc_f" ]; then undone_end 126; continue; fi
    if [ -d "$_acc_f" ]; then
      # an includedir: list it (sudo skips names ending in ~ or containing a dot)
      for _acc_g in "$_acc_f"/*; do
        [ -e "$_acc_g" ] || continue
        printf '# undone-file: %s\n' "$_acc_g"
        case "${_acc_g##*/}" in *~ | *.*) ;; *) _acc_next="$_acc_next $_acc_g" ;; esac
      done
      undone_end 0
      continue
    fi
    grep -v -E '^[[:space:]]*(#[^i@]|#$|$)' "$_acc_f" | head -n 1000
    undone_end 0
    for _acc_p in $(awk '$1 ~ /^[#@]include(dir)?$/ { print $2 }' "$_acc_f" | tr -d '"'); do
      case "$_acc_p" in /*) ;; *) _acc_p="/etc/$_acc_p" ;; esac
      _acc_next="$_acc_next $_acc_p"
    done
  done
  _acc_queue=$_acc_next
  _acc_depth=$((_acc_depth + 1))
done
undone_cmd lastlog lastlog
# last, an empty block: the parser can tell a complete output from a cut one
undone_begin end
undone_end 0
