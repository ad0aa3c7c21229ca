# undone section posix.applications: the applications installed beside the operating system that
# Cyber Essentials' 14-day rule covers (browsers, mail, PDF, office, Java, meeting clients, ...).
# Reads: dpkg-query (or rpm -q) for the packages of those applications only; `snap list`;
# `flatpak list --app`; application.ini of self-contained installs (/opt/*, /usr/local/*, each
# home's top folders: a Firefox or Thunderbird unpacked from Mozilla's tarball) and their
# update channel; on macOS the Info.plist of each application bundle in /Applications (one
# folder deep) and ~/Applications (identifier, name, version keys only, via plutil).
# Privilege: none (home folders are read where permitted). Writes nothing; starts nothing.
# Output is untrusted text (names, versions): every command's output and every file excerpt is
# sent base64-encoded on one line, so no name or version can forge the section's structure.
_ap_to=$(command -v timeout 2>/dev/null)
_ap_b64() { base64 2>/dev/null | tr -d '\n\r'; }
_ap_cap=1048576
_ap_b64cmd() {
  # _ap_b64cmd NAME SECONDS CMD...: the command's output (and "@@exit N") base64 on one line
  _ap_n=$1
  _ap_s=$2
  shift 2
  printf '@@block %s\n' "$_ap_n"
  if ! command -v "$1" >/dev/null 2>&1; then
    printf '@@rc 127\n'
    return 0
  fi
  {
    if [ -n "$_ap_to" ]; then
      "$_ap_to" -k 2 "$_ap_s" "$@" </dev/null 2>&1
    else
      "$@" </dev/null 2>&1
    fi
    printf '\n@@exit %s\n' "$?"
  } | head -c "$_ap_cap" | _ap_b64
  printf '\n@@rc 0\n'
}
undone_cmd platform uname -s
# the tools this section needs: without one of them its output cannot be complete
undone_begin tools
for _ap_t in base64 tr head grep; do
  command -v "$_ap_t" >/dev/null 2>&1 && printf '%s\n' "$_ap_t"
done
undone_end 0

# packages of the applications that matter (names and globs; dpkg-query lists only these)
_ap_pkgs="firefox firefox-esr thunderbird chromium chromium-browser google-chrome-stable
microsoft-edge-stable libreoffice-core vlc vlc-bin zoom teams p7zip-full 7zip
openjdk-*-jre openjdk-*-jre-headless openjdk-*-jdk"
if command -v dpkg-query >/dev/null 2>&1; then
  set -f
  # shellcheck disable=SC2016,SC2086 # dpkg's format, and names split on purpose (dpkg globs)
  _ap_b64cmd dpkg 60 dpkg-query -W -f '${db:Status-Abbrev}\t${Package}\t${Version}\n' $_ap_pkgs
  set +f
elif command -v rpm >/dev/null 2>&1; then
  _ap_b64cmd rpm 60 rpm -q --qf '%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n' \
    firefox thunderbird chromium google-chrome-stable microsoft-edge-stable libreoffice-core \
    vlc zoom java-1.8.0-openjdk java-11-openjdk java-17-openjdk java-21-openjdk
else
  # neither: the packaged applications cannot be listed (macOS has none to list)
  undone_begin pkgtool
  printf 'dpkg-query, rpm: command not found\n'
  undone_end 127
fi
command -v snap >/dev/null 2>&1 && _ap_b64cmd snap 30 snap list
if command -v flatpak >/dev/null 2>&1; then
  _ap_b64cmd flatpak 30 flatpak list --app --columns=application,version,branch,origin,installation
fi

# self-contained installs: application.ini (and the update channel) of each
undone_begin opt
_ap_n=0
for _ap_f in /opt/*/application.ini /opt/*/*/application.ini /usr/local/*/application.ini \
  /root/*/application.ini /home/*/*/application.ini; do
  [ -f "$_ap_f" ] || continue
  _ap_n=$((_ap_n + 1))
  [ "$_ap_n" -gt 50 ] && break
  _ap_d=${_ap_f%/application.ini}
  printf 'ini\t%s\t' "$(printf '%s' "$_ap_d" | _ap_b64)"
  grep -E '^(Vendor|Name|Version|BuildID)=' "$_ap_f" 2>/dev/null | head -c 2048 | _ap_b64
  printf '\t'
  grep -h 'app.update.channel' "$_ap_d/defaults/pref/channel-prefs.js" \
    "$_ap_d/browser/defaults/preferences/channel-prefs.js" 2>/dev/null | head -c 512 | _ap_b64
  printf '\n'
done
undone_end 0

# macOS application bundles
if [ "$(uname -s 2>/dev/null)" = Darwin ]; then
  undone_begin bundles
  _ap_n=0
  for _ap_a in /Applications/*.app /Applications/*/*.app /Users/*/Applications/*.app; do
    _ap_p="$_ap_a/Contents/Info.plist"
    [ -f "$_ap_p" ] || continue
    _ap_n=$((_ap_n + 1))
    [ "$_ap_n" -gt 500 ] && break
    printf 'bundle\t%s\t' "$(printf '%s' "$_ap_a" | _ap_b64)"
    plutil -convert xml1 -o - "$_ap_p" 2>/dev/null |
      grep -A 1 -E '<key>(CFBundleIdentifier|CFBundleName|CFBundleDisplayName|CFBundleShortVersionString|CFBundleVersion)</key>' |
      head -c 4096 | _ap_b64
    printf '\n'
  done
  undone_end 0
fi
# last, an empty block: the parser can tell a complete output from a cut one
undone_begin end
undone_end 0
