# undone section posix.patch_history: when packages were last upgraded, and how often.
# Reads: /var/log/apt/history.log and its rotations (history.log.N, history.log.N.gz, read with
# gzip -dc); when there is no apt history, /var/log/dpkg.log and its rotations; with dnf,
# `dnf -C history list` (the history database; cache only). Only a summary of each run is
# printed (start time, command, package counts, the first part of its upgrade list), at most
# 2000 lines per file; then, for the packages those lists name, their source package
# (dpkg-query, reads /var/lib/dpkg/status), so the scanner can tell security upgrades apart.
# Privilege: none on Debian and RHEL defaults (these logs are world-readable); root if not.
# Writes nothing.
undone_need awk sort head tail tr
undone_cmd tz date +%z
_ph_read() {
  # print a log file, decompressing .gz; 126 when it cannot be read
  [ -r "$1" ] || return 126
  case "$1" in
    *.gz) gzip -dc -- "$1" ;;
    *) cat -- "$1" ;;
  esac
}
_ph_apt_summary() {
  awk '
    /^Start-Date: / { sub(/^Start-Date: */, ""); print "Start-Date: " $0; next }
    /^Commandline: / { print substr($0, 1, 200); next }
    /^(Install|Upgrade|Remove|Purge|Downgrade|Reinstall): / {
      k = $1; sub(/:$/, "", k); n = gsub(/\)/, ")"); print k "-Count: " n
      if (k == "Upgrade") print "Upgrade-List: " substr($0, 10, 1500)
      next
    }
    /^Error: / { print substr($0, 1, 200); next }
    /^End-Date: / { print "End-Date: " substr($0, 11); next }
  '
}
_ph_dpkg_summary() {
  # one line per dpkg run: start, time of its last line, packages upgraded and installed
  awk '
    $3 == "startup" && $4 == "archives" && $5 == "unpack" {
      if (start != "") print "Session: " start " " last " upgrade=" up " install=" inst
      start = $1 " " $2; up = 0; inst = 0
    }
    { last = $1 " " $2 }
    $3 == "upgrade" { up++ }
    $3 == "install" { inst++ }
    END { if (start != "") print "Session: " start " " last " upgrade=" up " install=" inst }
  '
}
_ph_found=no
_ph_names=
for _ph_f in /var/log/apt/history.log /var/log/apt/history.log.[0-9]*; do
  [ -e "$_ph_f" ] || continue
  _ph_found=yes
  undone_begin "apt_history:${_ph_f##*/}"
  _ph_sum=$(_ph_read "$_ph_f" | _ph_apt_summary | tail -n 2000)
  printf '%s\n' "$_ph_sum"
  if [ -r "$_ph_f" ]; then undone_end 0; else undone_end 126; fi
  # the names in the upgrade lists ("libssl3:amd64 (3.0.11-1, 3.0.13-1), ..."), one a line
  _ph_names="$_ph_names
$(printf '%s\n' "$_ph_sum" | sed -n 's/^Upgrade-List: //p' |
    tr ',' '\n' | sed -n 's/^ *\([^ (:]*\)[^ (]* (.*/\1/p')"
done
unset _ph_sum
if [ -n "$_ph_names" ]; then
  undone_begin apt_sources
  # shellcheck disable=SC2016
  printf '%s\n' "$_ph_names" | sed '/^$/d' | sort -u | head -n 3000 |
    xargs dpkg-query -W -f='${binary:Package} ${source:Package}\n' -- 2>/dev/null
  undone_end 0
fi
unset _ph_names
if [ "$_ph_found" = no ]; then
  for _ph_f in /var/log/dpkg.log /var/log/dpkg.log.[0-9]*; do
    [ -e "$_ph_f" ] || continue
    _ph_found=yes
    undone_begin "dpkg_log:${_ph_f##*/}"
    _ph_read "$_ph_f" | _ph_dpkg_summary | tail -n 2000
    if [ -r "$_ph_f" ]; then undone_end 0; else undone_end 126; fi
  done
fi
if command -v dnf >/dev/null 2>&1; then
  undone_begin dnf_history
  { env TZ=UTC0 dnf -C -q --setopt=logfilelevel=0 history list </dev/null 2>&1
    printf '@@exit %s\n' "$?"; } | awk 'NR <= 2002 || /^@@exit /'
  undone_end 0
fi
# last, an empty block: the parser can tell a complete output from a cut one
undone_begin end
undone_end 0
