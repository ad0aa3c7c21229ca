# undone prelude: helpers that every POSIX section script may use.
# Reads only: it runs commands and reads files, and writes nothing but its standard output.
# Each helper prints a block:  "@@block NAME", the output, then "@@rc CODE" on a line of its own.
# Codes: 0 ok, 2 file absent, 126 not readable / not permitted, 127 command not found.
# Data never forges a block: every line of output that begins with "@@" is written with one more
# "@" (undone_esc; the parser takes it off again), so only these helpers write markers. Output
# printed between undone_begin and undone_end must go through undone_esc too (or be the script's
# own fixed words), and names read from the target through undone_name.
undone_nl='
'
undone_tab=$(printf '\t')
undone_cr=$(printf '\r')
undone_need() {
  # undone_need TOOL...: stop the section (exit 127, nothing on standard output) when a tool it
  # relies on is missing, so that a missing awk or grep is an error and never an empty result
  for _undone_t in "$@"; do
    if ! command -v "$_undone_t" >/dev/null 2>&1; then
      printf 'undone: this section needs %s, which is not on the target (command not found)\n' \
        "$_undone_t" >&2
      exit 127
    fi
  done
}
undone_need sed
undone_esc() { sed 's/^@@/@@@/'; }
undone_name() {
  # a name read from the target (a file name, say), line breaks and tabs shown as "?"
  case $1 in
    *"$undone_nl"* | *"$undone_tab"* | *"$undone_cr"*) printf '%s' "$1" | tr '\n\t\r' '???' ;;
    *) printf '%s' "$1" ;;
  esac
}
undone_plain() {
  # whether a name read from the target is one line without tabs (status 0) or not (1)
  case $1 in
    *"$undone_nl"* | *"$undone_tab"* | *"$undone_cr"*) return 1 ;;
  esac
  return 0
}
undone_pipe() {
  # run a command (standard input closed), its output and errors escaped; returns the command's
  # exit code (the pipeline's own would be sed's)
  {
    _undone_rc=$({ { "$@" </dev/null 2>&1 3>&- 4>&-; printf '%s' "$?" >&3; } | undone_esc >&4; } 3>&1)
  } 4>&1
  return "${_undone_rc:-1}"
}
undone_run() {
  # undone_pipe, then "@@rc CODE"
  undone_pipe "$@"
  printf '\n@@rc %s\n' "$?"
}
undone_cmd() {
  _undone_n=$1; shift
  printf '@@block %s\n' "$_undone_n"
  if ! command -v "$1" >/dev/null 2>&1; then
    printf '%s: command not found\n@@rc 127\n' "$1"
    return 0
  fi
  undone_run "$@"
}
undone_file() {
  printf '@@block %s\n' "$1"
  if [ ! -e "$2" ]; then printf '@@rc 2\n'; return 0; fi
  if [ ! -r "$2" ]; then printf '@@rc 126\n'; return 0; fi
  undone_esc <"$2" 2>&1
  printf '\n@@rc %s\n' "$?"
}
undone_begin() { printf '@@block %s\n' "$1"; }
undone_end() { printf '\n@@rc %s\n' "${1:-0}"; }
