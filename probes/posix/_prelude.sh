# undone prelude: helpers that every POSIX section script may use.
# Reads only: it runs commands and reads files, and writes nothing but its standard output.
# Each helper prints a block:  "@@block NAME", the output, then "@@rc CODE" on a line of its own.
# Codes: 0 ok, 2 file absent, 126 not readable / not permitted, 127 command not found.
undone_cmd() {
  _undone_n=$1; shift
  printf '@@block %s\n' "$_undone_n"
  if ! command -v "$1" >/dev/null 2>&1; then
    printf '%s: command not found\n@@rc 127\n' "$1"
    return 0
  fi
  "$@" </dev/null 2>&1
  printf '\n@@rc %s\n' "$?"
}
undone_file() {
  printf '@@block %s\n' "$1"
  if [ ! -e "$2" ]; then printf '@@rc 2\n'; return 0; fi
  if [ ! -r "$2" ]; then printf '@@rc 126\n'; return 0; fi
  cat -- "$2" 2>&1
  printf '\n@@rc %s\n' "$?"
}
undone_begin() { printf '@@block %s\n' "$1"; }
undone_end() { printf '\n@@rc %s\n' "${1:-0}"; }
