# undone section posix.updates: pending updates, which are security fixes and how old, whether a
# reboot is pending, and whether updates install by themselves.
# Reads, with apt: `apt-get -s dist-upgrade` (a simulation: no lock taken, no package cache
# written), the header of each Release/InRelease file in /var/lib/apt/lists, /run/reboot-required
# (.pkgs), `apt-config dump` (APT::Periodic), the dpkg status of unattended-upgrades.
# With dnf: `dnf -C` (cache only: never refreshes metadata) check-update and updateinfo, the
# repomd.xml timestamps in /var/cache/dnf, `needs-restarting -r`, /etc/dnf/automatic.conf.
# Both: `systemctl is-enabled` of the update timers (reads unit files; no running systemd needed).
# Privilege: none for apt. dnf as a non-root user may find no metadata cache (reported as an
# error); run as root for dnf hosts. Writes nothing, installs nothing, refreshes nothing; dnf 4
# opens its own logs in /var/log on every run, so it runs with logfilelevel=0, its quietest.
undone_need grep head
_upd_units() {
  # "unit state" per unit, from systemctl is-enabled; 127 when systemctl is missing
  if ! command -v systemctl >/dev/null 2>&1; then
    printf 'systemctl: command not found\n'
    return 127
  fi
  for _upd_u in "$@"; do
    printf '%s %s\n' "$_upd_u" "$(systemctl is-enabled "$_upd_u" 2>&1 </dev/null | head -n 1)"
  done
  return 0
}
# the release the advisories are keyed by (Debian codename, Ubuntu version)
undone_begin os_release
for _upd_f in /etc/os-release /usr/lib/os-release; do
  if [ -r "$_upd_f" ]; then
    grep -E '^(ID|VERSION_ID|VERSION_CODENAME|UBUNTU_CODENAME)=' "$_upd_f"
    break
  fi
done
undone_end 0
if command -v apt-get >/dev/null 2>&1; then
  undone_begin manager; printf 'apt\n'; undone_end 0
  undone_begin apt_simulate
  # -s simulates; NoLocking takes no lock; empty pkgcache/srcpkgcache build the cache in memory
  # only (apt may use unnamed O_TMPFILE scratch space); an empty Dir::Log::Planner stops root's
  # apt from rewriting /var/log/apt/eipp.log.xz. The summary line is "N upgraded, N newly
  # installed, ..." (apt 1.x, 2.x) or "  Upgrading: N, Installing: N, ..." (apt 3).
  _upd_sim=$(apt-get -s -o Debug::NoLocking=true -o Dir::Cache::pkgcache= \
      -o Dir::Cache::srcpkgcache= -o Dir::Log::Planner= dist-upgrade </dev/null 2>&1
    printf '@@exit %s\n' "$?")
  printf '%s\n' "$_upd_sim" |
    grep -E '^(Inst |E: |W: |Err|[0-9]+ upgraded|[[:space:]]*Upgrading: [0-9]|@@exit )'
  undone_end 0
  # the source package and source version of each installed package with an update pending
  # (advisories name source packages); dpkg-query reads /var/lib/dpkg/status only
  undone_begin apt_sources
  # shellcheck disable=SC2016
  printf '%s\n' "$_upd_sim" | sed -n 's/^Inst \([^ ]*\) \[.*/\1/p' | head -n 5000 |
    xargs dpkg-query -W -f='${binary:Package} ${Version} ${source:Package} ${source:Version}\n' \
      -- 2>&1
  undone_end 0
  unset _upd_sim
  undone_begin apt_releases
  for _upd_f in /var/lib/apt/lists/*_InRelease /var/lib/apt/lists/*_Release; do
    [ -r "$_upd_f" ] || continue
    printf 'File: %s\n' "${_upd_f##*/}"
    head -n 40 "$_upd_f" | grep -E '^(Origin|Label|Suite|Codename|Version|Date):'
    printf '\n'
  done
  undone_end 0
  undone_file reboot_required /run/reboot-required
  undone_file reboot_packages /run/reboot-required.pkgs
  # shellcheck disable=SC2016
  undone_cmd auto_package dpkg-query -W -f='${Status}\n' unattended-upgrades
  undone_begin apt_periodic
  { apt-config dump </dev/null 2>&1; printf '@@exit %s\n' "$?"; } |
    grep -E '^(APT::Periodic::|E: |@@exit )'
  undone_end 0
  undone_begin timers
  _upd_units apt-daily-upgrade.timer apt-daily.timer
  undone_end $?
elif command -v dnf >/dev/null 2>&1; then
  case "$(readlink -f "$(command -v dnf)" 2>/dev/null)" in
    *dnf5) undone_begin manager; printf 'dnf5\n'; undone_end 0 ;;
    *)
      undone_begin manager; printf 'dnf\n'; undone_end 0
      # dnf's warnings and errors go to standard error: each command's block holds its output
      # alone, and the messages follow in a block of their own (<name>_stderr), so a warning
      # is never read as data
      undone_begin dnf_check_update
      { _upd_err=$(env TZ=UTC0 dnf -C -q --setopt=logfilelevel=0 check-update </dev/null \
          2>&1 1>&3 3>&-)
        printf '@@exit %s\n' "$?"; } 3>&1
      undone_end 0
      undone_begin dnf_check_update_stderr
      printf '%s\n' "$_upd_err" | head -c 4000
      undone_end 0
      undone_begin dnf_security_list
      { _upd_err=$(env TZ=UTC0 dnf -C -q --setopt=logfilelevel=0 updateinfo list --security \
          </dev/null 2>&1 1>&3 3>&-)
        printf '@@exit %s\n' "$?"; } 3>&1
      undone_end 0
      undone_begin dnf_security_list_stderr
      printf '%s\n' "$_upd_err" | head -c 4000
      undone_end 0
      undone_begin dnf_security_info
      { _upd_err=$( { { env TZ=UTC0 dnf -C -q --setopt=logfilelevel=0 updateinfo info \
          --security </dev/null 2>&4 3>&- 4>&-; printf '@@exit %s\n' "$?"; } |
          grep -E '^ *(Update ID|Type|Updated|Issued|Severity) *: |^@@exit ' >&3; } 4>&1); } 3>&1
      undone_end 0
      undone_begin dnf_security_info_stderr
      printf '%s\n' "$_upd_err" | head -c 4000
      undone_end 0
      unset _upd_err
      undone_begin dnf_repomd
      for _upd_f in /var/cache/dnf/*/repodata/repomd.xml; do
        [ -r "$_upd_f" ] || continue
        printf 'File: %s\n' "$_upd_f"
        sed -n -e 's/.*<revision>\([0-9]*\)<\/revision>.*/revision \1/p' \
          -e 's/.*<timestamp>\([0-9]*\)<\/timestamp>.*/timestamp \1/p' \
          -e 's/.*<data type="updateinfo">.*/updateinfo/p' "$_upd_f"
      done
      undone_end 0
      if command -v needs-restarting >/dev/null 2>&1; then
        undone_cmd needs_restarting needs-restarting -r
      else
        undone_cmd needs_restarting dnf -C -q --setopt=logfilelevel=0 needs-restarting -r
      fi
      undone_cmd auto_package rpm -q dnf-automatic
      undone_begin automatic_conf
      if [ -r /etc/dnf/automatic.conf ]; then
        grep -E '^[[:space:]]*(\[|apply_updates|upgrade_type|download_updates)' \
          /etc/dnf/automatic.conf
        undone_end 0
      elif [ -e /etc/dnf/automatic.conf ]; then undone_end 126
      else undone_end 2
      fi
      undone_begin timers
      _upd_units dnf-automatic.timer dnf-automatic-install.timer
      undone_end $?
      ;;
  esac
else
  undone_begin manager
  for _upd_m in yum zypper apk pkg; do
    if command -v "$_upd_m" >/dev/null 2>&1; then printf '%s\n' "$_upd_m"; break; fi
  done
  undone_end 0
fi
# last, an empty block: the parser can tell a complete output from a cut one
undone_begin end
undone_end 0
