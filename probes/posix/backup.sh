# undone section posix.backup: the backups declared for this host in the inventory (restic, borg,
# rsnapshot, dated directories, Proxmox Backup Server, Veeam Agent, Time Machine) and those found
# without credentials (/etc/rsnapshot.conf, veeamconfig, tmutil): their snapshots, newest and
# oldest, size, and the last attempt where the tool records one.
# Reads: `restic snapshots --json` and `restic stats --json --mode raw-data` with --no-lock
# --no-cache; `borg list --json --bypass-lock` (only for a repository borg already knows as this
# user: otherwise borg would write its security directory, so it is not run); `du -sk` of local
# borg repositories; names and modification times of rsnapshot/dated directories and the tail
# of rsnapshot's log; `proxmox-backup-client snapshot list --output-format json`; `veeamconfig
# session list`; `tmutil latestbackup`, `listbackups`, `destinationinfo`.
# Never runs `restic check` or `borg check` (expensive, and they take locks).
# Credentials come from the environment the engine exports to this section only (from standard
# input): a password is handed to its one tool in that tool's environment, never on a command
# line, and never printed. Each tool runs under a time limit, so a hanging tool costs one
# repository, not the section. Privilege: whatever the repositories and files need (usually the
# user that makes the backups). Writes nothing, except what borg 1.2 itself cannot avoid (see
# probes/posix/backup.py).
undone_need date head tail grep cat tr
_bk_to=$(command -v timeout 2>/dev/null)
_bk_t=${UNDONE_BK_TIMEOUT:-20}
case $_bk_t in '' | *[!0-9]*) _bk_t=20 ;; esac
_bk_n=${UNDONE_BK_N:-0}
case $_bk_n in '' | *[!0-9]*) _bk_n=0 ;; esac
[ "$_bk_n" -gt 32 ] && _bk_n=32
# secrets move into unexported shell variables: only the one tool that needs a secret gets it
_bk_i=1
while [ "$_bk_i" -le "$_bk_n" ]; do
  eval "_bk_s$_bk_i=\${UNDONE_BK${_bk_i}_SECRET-}"
  unset "UNDONE_BK${_bk_i}_SECRET"
  _bk_i=$((_bk_i + 1))
done

_bk_run() {
  # _bk_run SECONDS CMD...: run with a time limit, standard input closed; 124 when it ran out
  _bk_sec=$1
  shift
  if [ -n "$_bk_to" ]; then
    "$_bk_to" -k 2 "$_bk_sec" "$@" </dev/null
    _bk_r=$?
    [ "$_bk_r" -eq 137 ] && _bk_r=124
    return "$_bk_r"
  fi
  "$@" </dev/null &
  _bk_p=$!
  (
    _bk_w=0
    while [ "$_bk_w" -lt "$_bk_sec" ]; do
      sleep 1
      kill -0 "$_bk_p" 2>/dev/null || exit 0
      _bk_w=$((_bk_w + 1))
    done
    kill -TERM "$_bk_p" 2>/dev/null
    sleep 2
    kill -KILL "$_bk_p" 2>/dev/null
  ) &
  _bk_wp=$!
  wait "$_bk_p"
  _bk_r=$?
  kill "$_bk_wp" 2>/dev/null
  wait "$_bk_wp" 2>/dev/null
  case $_bk_r in 137 | 143) _bk_r=124 ;; esac
  return "$_bk_r"
}

_bk_mtime() {
  stat -c %Y "$1" 2>/dev/null || stat -f %m "$1" 2>/dev/null
}

_bk_listing() {
  # BLOCK DIR: "epoch<TAB>name" for each entry of DIR (at most 5000); a name with a line break
  # or a tab is shown with "?" in their place (it can never pass for another entry)
  undone_begin "$1"
  if [ -z "$2" ]; then
    printf 'no repository given\n'
    undone_end 2
    return
  fi
  if [ ! -e "$2" ]; then
    undone_name "$2"; printf ': not found\n'
    undone_end 2
    return
  fi
  if [ ! -r "$2" ] || [ ! -x "$2" ]; then
    undone_name "$2"; printf ': permission denied\n'
    undone_end 126
    return
  fi
  _bk_c=0
  for _bk_e in "$2"/*; do
    [ -e "$_bk_e" ] || continue
    _bk_c=$((_bk_c + 1))
    [ "$_bk_c" -gt 5000 ] && break
    printf '%s\t' "$(_bk_mtime "$_bk_e")"
    undone_name "${_bk_e##*/}"
    printf '\n'
  done | undone_esc
  undone_end 0
}

_bk_tail() {
  # BLOCK FILE: the last 200 lines of a log
  undone_begin "$1"
  if [ -z "$2" ] || [ ! -e "$2" ]; then
    undone_end 2
  elif [ ! -r "$2" ]; then
    undone_end 126
  else
    tail -n 200 "$2" 2>&1 | undone_esc
    undone_end 0
  fi
}

_bk_missing() {
  # BLOCK TOOL: the tool is not installed
  undone_begin "$1"
  printf '%s: command not found\n' "$2"
  undone_end 127
}

_bk_restic_run() {
  # SECONDS ARGS...: restic against $_bk_repo with this repository's password, read-only
  _bk_rs=$1
  shift
  (
    unset RESTIC_PASSWORD RESTIC_PASSWORD_FILE RESTIC_PASSWORD_COMMAND RESTIC_REPOSITORY_FILE
    RESTIC_REPOSITORY=$_bk_repo
    export RESTIC_REPOSITORY
    if [ -n "$_bk_pw" ]; then
      RESTIC_PASSWORD=$_bk_pw
      export RESTIC_PASSWORD
    else
      RESTIC_PASSWORD_FILE=$_bk_pwfile
      export RESTIC_PASSWORD_FILE
    fi
    _bk_run "$_bk_rs" restic --no-lock --no-cache "$@" 2>&1
  )
}

_bk_restic() {
  if ! command -v restic >/dev/null 2>&1; then
    _bk_missing "$1.snapshots" restic
    return
  fi
  # without a password restic cannot read anything: the parser says which one is missing
  [ -n "$_bk_nosecret" ] && return
  [ -z "$_bk_pw" ] && [ -z "$_bk_pwfile" ] && return
  [ -z "$_bk_pw" ] && [ ! -r "$_bk_pwfile" ] && return
  undone_begin "$1.snapshots"
  undone_pipe _bk_restic_run "$_bk_t" snapshots --json
  _bk_rc=$?
  undone_end "$_bk_rc"
  if [ "$_bk_rc" -eq 0 ]; then
    undone_begin "$1.stats"
    undone_pipe _bk_restic_run $((_bk_t / 2 + 1)) stats --json --mode raw-data
    undone_end $?
  fi
}

_bk_borg_run() {
  # SECONDS ARGS...: borg against $_bk_repo, without locks, refusing anything that would write
  _bk_bs=$1
  shift
  (
    unset BORG_PASSPHRASE BORG_PASSCOMMAND BORG_PASSPHRASE_FD BORG_NEW_PASSPHRASE
    BORG_REPO=$_bk_repo
    BORG_SELFTEST=disabled
    BORG_RELOCATED_REPO_ACCESS_IS_OK=no
    BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=no
    BORG_CHECK_I_KNOW_WHAT_I_AM_DOING=NO
    BORG_DELETE_I_KNOW_WHAT_I_AM_DOING=NO
    BORG_DISPLAY_PASSPHRASE=no
    TZ=UTC
    export BORG_REPO BORG_SELFTEST BORG_RELOCATED_REPO_ACCESS_IS_OK TZ \
      BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK BORG_CHECK_I_KNOW_WHAT_I_AM_DOING \
      BORG_DELETE_I_KNOW_WHAT_I_AM_DOING BORG_DISPLAY_PASSPHRASE
    if [ -n "$_bk_pw" ]; then
      BORG_PASSPHRASE=$_bk_pw
      export BORG_PASSPHRASE
    elif [ -n "$_bk_pwfile" ]; then
      # borg splits this itself (shlex): the quotes are for borg, not the shell
      # shellcheck disable=SC2089,SC2090
      BORG_PASSCOMMAND="cat '$_bk_pwfile'"
      # shellcheck disable=SC2090
      export BORG_PASSCOMMAND
    fi
    _bk_run "$_bk_bs" borg "$@" 2>&1
  )
}

_bk_borg() {
  if ! command -v borg >/dev/null 2>&1; then
    _bk_missing "$1.list" borg
    return
  fi
  [ -n "$_bk_nosecret" ] && return
  [ -n "$_bk_pwfile" ] && [ ! -r "$_bk_pwfile" ] && return
  case $_bk_pwfile in *"'"*) return ;; esac
  # where this user's borg keeps what it knows of repositories (borg's own rules)
  if [ -n "${BORG_BASE_DIR-}" ]; then
    _bk_cfg=${BORG_CONFIG_DIR:-$BORG_BASE_DIR/.config/borg}
    _bk_cache=${BORG_CACHE_DIR:-$BORG_BASE_DIR/.cache/borg}
  else
    _bk_cfg=${BORG_CONFIG_DIR:-${XDG_CONFIG_HOME:-${HOME:-/nonexistent}/.config}/borg}
    _bk_cache=${BORG_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/nonexistent}/.cache}/borg}
  fi
  _bk_secdir=${BORG_SECURITY_DIR:-$_bk_cfg/security}
  undone_begin "$1.known"
  _bk_id=""
  _bk_local=""
  case $_bk_repo in
    *://* | *@*:*) ;;
    *) _bk_local=1 ;;
  esac
  if [ -n "$_bk_local" ]; then
    if [ -r "$_bk_repo/config" ]; then
      _bk_id=$(sed -n 's/^id = //p' "$_bk_repo/config" 2>/dev/null | head -n 1)
      if [ -n "$_bk_id" ]; then
        printf 'repository found\n'
      else
        printf 'repository no-id\n'
      fi
      grep -E '^(append_only|version) = ' "$_bk_repo/config" 2>/dev/null
    elif [ -e "$_bk_repo/config" ]; then
      printf 'repository unreadable\n'
    elif [ -e "$_bk_repo" ]; then
      printf 'repository not-a-repository\n'
    else
      printf 'repository absent\n'
    fi
  else
    printf 'repository remote\n'
    for _bk_f in "$_bk_secdir"/*/location; do
      [ -r "$_bk_f" ] || continue
      if [ "$(cat "$_bk_f")" = "$_bk_repo" ]; then
        _bk_id=${_bk_f%/location}
        _bk_id=${_bk_id##*/}
      fi
    done
  fi
  if [ -n "$_bk_id" ] && [ -f "$_bk_secdir/$_bk_id/key-type" ] &&
    [ -f "$_bk_secdir/$_bk_id/location" ] && [ -f "$_bk_secdir/$_bk_id/manifest-timestamp" ]; then
    printf 'security known %s\n' "$_bk_secdir"
  else
    printf 'security unknown %s\n' "$_bk_secdir"
  fi
  if [ -d "$_bk_cfg" ] && [ -f "$_bk_cache/CACHEDIR.TAG" ]; then
    printf 'dirs ready\n'
  else
    printf 'dirs missing %s %s\n' "$_bk_cfg" "$_bk_cache"
  fi
  undone_end 0
  # borg writes its security record (and creates its cache directory) for a repository it does
  # not know yet: read only those it knows, and let the parser say why the others were not read
  [ -n "$_bk_id" ] || return
  [ -f "$_bk_secdir/$_bk_id/manifest-timestamp" ] || return
  [ -d "$_bk_cfg" ] && [ -f "$_bk_cache/CACHEDIR.TAG" ] || return
  undone_begin "$1.list"
  _bk_out=$(_bk_borg_run "$_bk_t" list --json --bypass-lock --consider-checkpoints)
  _bk_rc=$?
  case $_bk_out in
    *"unrecognized arguments: --consider-checkpoints"*)
      # borg 1.1 has no --consider-checkpoints (and lists checkpoints anyway)
      _bk_out=$(_bk_borg_run "$_bk_t" list --json --bypass-lock)
      _bk_rc=$?
      ;;
  esac
  printf '%s\n' "$_bk_out" | undone_esc
  undone_end "$_bk_rc"
  if [ -n "$_bk_local" ]; then
    undone_begin "$1.du"
    _bk_run 10 du -sk "$_bk_repo" 2>&1 | tail -n 1 | undone_esc
    undone_end 0
  fi
}

_bk_pbs() {
  if ! command -v proxmox-backup-client >/dev/null 2>&1; then
    _bk_missing "$1.snapshots" proxmox-backup-client
    return
  fi
  [ -n "$_bk_nosecret" ] && return
  [ -z "$_bk_pw" ] && [ -z "$_bk_pwfile" ] && return
  [ -z "$_bk_pw" ] && [ ! -r "$_bk_pwfile" ] && return
  undone_begin "$1.snapshots"
  undone_pipe _bk_pbs_run
  undone_end $?
}

_bk_pbs_run() {
  (
    unset PBS_PASSWORD PBS_PASSWORD_FILE PBS_PASSWORD_FD PBS_PASSWORD_CMD
    PBS_REPOSITORY=$_bk_repo
    export PBS_REPOSITORY
    if [ -n "$_bk_pw" ]; then
      PBS_PASSWORD=$_bk_pw
      export PBS_PASSWORD
    else
      PBS_PASSWORD_FILE=$_bk_pwfile
      export PBS_PASSWORD_FILE
    fi
    _bk_run "$_bk_t" proxmox-backup-client snapshot list --output-format json 2>&1
  )
}

_bk_veeam() {
  if ! command -v veeamconfig >/dev/null 2>&1; then
    _bk_missing "$1.sessions" veeamconfig
    return
  fi
  undone_begin "$1.sessions"
  _bk_run "$_bk_t" veeamconfig session list 2>&1 | tail -n 300 | undone_esc
  undone_end 0
}

_bk_tm() {
  if ! command -v tmutil >/dev/null 2>&1; then
    _bk_missing "$1.latest" tmutil
    return
  fi
  undone_begin "$1.latest"
  undone_pipe _bk_run "$_bk_t" tmutil latestbackup
  undone_end $?
  undone_begin "$1.list"
  _bk_run "$_bk_t" tmutil listbackups 2>&1 | tail -n 500 | undone_esc
  undone_end 0
  undone_begin "$1.destinations"
  undone_pipe _bk_run "$_bk_t" tmutil destinationinfo
  undone_end $?
}

_bk_rsnap() {
  # PREFIX ROOT LOGFILE
  _bk_listing "$1.tree" "$2"
  [ -n "$3" ] && _bk_tail "$1.log" "$3"
}

undone_begin clock
date -u +%s
date +%z
printf 'timeout %s\n' "$_bk_t"
undone_end 0
if [ -n "${UNDONE_CONFIG_ERROR-}" ]; then
  # the engine could not build this section's settings: say so (the parser names it)
  undone_begin config_error
  printf '%s\n' "$UNDONE_CONFIG_ERROR" | head -n 3 | undone_esc
  undone_end 0
fi

# ---------------------------------------------------------------------- declared backups
_bk_kind=""
_bk_repo=""
_bk_declared_kinds=" "
_bk_i=1
while [ "$_bk_i" -le "$_bk_n" ]; do
  eval "_bk_kind=\${UNDONE_BK${_bk_i}_KIND-}"
  eval "_bk_repo=\${UNDONE_BK${_bk_i}_REPO-}"
  eval "_bk_pwfile=\${UNDONE_BK${_bk_i}_PWFILE-}"
  eval "_bk_nosecret=\${UNDONE_BK${_bk_i}_NOSECRET-}"
  eval "_bk_pw=\${_bk_s$_bk_i-}"
  _bk_declared_kinds="$_bk_declared_kinds$_bk_kind:${_bk_repo%/} "
  undone_begin "bk$_bk_i.meta"
  printf 'kind %s\n' "$_bk_kind"
  if [ -n "$_bk_pw" ]; then
    printf 'secret set\n'
  elif [ -n "$_bk_nosecret" ]; then
    printf 'secret missing %s\n' "$_bk_nosecret"
  else
    printf 'secret none\n'
  fi
  if [ -n "$_bk_pwfile" ]; then
    if [ -r "$_bk_pwfile" ]; then
      printf 'password_file readable\n'
    elif [ -e "$_bk_pwfile" ]; then
      printf 'password_file unreadable\n'
    else
      printf 'password_file absent\n'
    fi
  fi
  undone_end 0
  case $_bk_kind in
    restic) _bk_restic "bk$_bk_i" ;;
    borg) _bk_borg "bk$_bk_i" ;;
    rsnapshot)
      _bk_log=""
      [ -r /etc/rsnapshot.conf ] &&
        _bk_log=$(sed -n 's/^logfile[[:space:]][[:space:]]*//p' /etc/rsnapshot.conf | head -n 1)
      _bk_rsnap "bk$_bk_i" "$_bk_repo" "$_bk_log"
      ;;
    directory) _bk_listing "bk$_bk_i.tree" "$_bk_repo" ;;
    pbs) _bk_pbs "bk$_bk_i" ;;
    veeam) _bk_veeam "bk$_bk_i" ;;
    timemachine) _bk_tm "bk$_bk_i" ;;
  esac
  _bk_i=$((_bk_i + 1))
done
_bk_pw=""
unset _bk_pw

# --------------------------------------------- discovered (no credentials needed), not declared
_bk_d=0
_bk_pw=""
_bk_pwfile=""
_bk_nosecret=""
if [ -r /etc/rsnapshot.conf ]; then
  _bk_root=$(sed -n 's/^snapshot_root[[:space:]][[:space:]]*//p' /etc/rsnapshot.conf | head -n 1)
  _bk_root=${_bk_root%/}
  case $_bk_declared_kinds in
    *" rsnapshot:$_bk_root "*) ;;
    *)
      if [ -n "$_bk_root" ]; then
        _bk_d=$((_bk_d + 1))
        _bk_log=$(sed -n 's/^logfile[[:space:]][[:space:]]*//p' /etc/rsnapshot.conf | head -n 1)
        undone_begin "d$_bk_d.meta"
        printf 'kind rsnapshot\nrepository %s\nfrom /etc/rsnapshot.conf\n' "$_bk_root"
        undone_end 0
        _bk_rsnap "d$_bk_d" "$_bk_root" "$_bk_log"
      fi
      ;;
  esac
fi
case $_bk_declared_kinds in
  *" veeam:"*) ;;
  *)
    if command -v veeamconfig >/dev/null 2>&1; then
      _bk_d=$((_bk_d + 1))
      undone_begin "d$_bk_d.meta"
      printf 'kind veeam\nfrom veeamconfig\n'
      undone_end 0
      _bk_veeam "d$_bk_d"
    fi
    ;;
esac
case $_bk_declared_kinds in
  *" timemachine:"*) ;;
  *)
    if [ "$(uname -s 2>/dev/null)" = Darwin ] && command -v tmutil >/dev/null 2>&1; then
      _bk_dest=$(_bk_run 10 tmutil destinationinfo 2>/dev/null)
      case $_bk_dest in
        *Name*)
          _bk_d=$((_bk_d + 1))
          undone_begin "d$_bk_d.meta"
          printf 'kind timemachine\nfrom tmutil destinationinfo\n'
          undone_end 0
          _bk_tm "d$_bk_d"
          ;;
      esac
    fi
    ;;
esac
undone_begin discovered
printf '%s\n' "$_bk_d"
undone_end 0
# last, an empty block: the parser can tell a complete output from a cut one
undone_begin end
undone_end 0
