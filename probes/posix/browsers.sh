# undone section posix.browsers: the web browsers' extensions, per user and profile, and what
# stops a browser from updating itself.
# Reads, for each home folder (/root, /home/*, /Users/*): Chrome, Chromium and Edge profiles
# (each folder holding a Preferences file: its Preferences and Secure Preferences, and the
# manifest.json of each extension under Extensions/<id>/<version>/, with the default locale's
# messages.json for localised names); Firefox profiles (extensions.json); Firefox enterprise
# policies (/etc/firefox/policies/policies.json, distribution/policies.json of self-contained
# installs; on macOS the org.mozilla.firefox managed preferences) and Google's updater settings
# on macOS (com.google.Keystone.Agent, managed com.google.Keystone).
# Privilege: none for the scanning user's own profiles; root reads every user's. Writes nothing.
# File contents are sent base64-encoded, each file capped, within a budget for the section;
# a file left out says why (too large, over the budget), so nothing is silently dropped.
_br_b64() { base64 2>/dev/null | tr -d '\n\r'; }
_br_budget=1200000
_br_file() {
  # _br_file KIND FILE [EXTRA...]: one record with the file's content, or why it is left out
  _br_k=$1
  _br_f=$2
  shift 2
  printf '%s\t%s' "$_br_k" "$(printf '%s' "$_br_f" | _br_b64)"
  for _br_x in "$@"; do printf '\t%s' "$(printf '%s' "$_br_x" | _br_b64)"; done
  if [ ! -e "$_br_f" ]; then
    printf '\tabsent\n'
    return 0
  fi
  if [ ! -r "$_br_f" ]; then
    printf '\tunreadable\n'
    return 0
  fi
  _br_s=$(wc -c <"$_br_f" 2>/dev/null | tr -d ' ')
  case "$_br_s" in '' | *[!0-9]*) _br_s=0 ;; esac
  if [ "$_br_s" -gt 524288 ]; then
    printf '\ttoolarge:%s\n' "$_br_s"
  elif [ "$_br_s" -gt "$_br_budget" ]; then
    printf '\tbudget:%s\n' "$_br_s"
  else
    _br_budget=$((_br_budget - _br_s))
    printf '\tok:'
    head -c 524288 "$_br_f" | _br_b64
    printf '\n'
  fi
}
undone_cmd platform uname -s
# the tools this section needs: without one of them its output cannot be complete
undone_begin tools
for _br_t in base64 tr wc head sed grep; do
  command -v "$_br_t" >/dev/null 2>&1 && printf '%s\n' "$_br_t"
done
undone_end 0

# the browsers installed: their commands, and on macOS their application bundles
undone_begin installed
for _br_c in firefox firefox-esr chromium chromium-browser google-chrome google-chrome-stable \
  microsoft-edge microsoft-edge-stable; do
  command -v "$_br_c" >/dev/null 2>&1 && printf 'cmd %s\n' "$_br_c"
done
for _br_a in "/Applications/Google Chrome.app" "/Applications/Firefox.app" \
  "/Applications/Microsoft Edge.app" "/Applications/Chromium.app"; do
  [ -d "$_br_a" ] && printf 'app %s\n' "${_br_a#/Applications/}"
done
# self-contained Firefox installs (they update themselves, unless a policy stops them)
for _br_f in /opt/*/application.ini /opt/*/*/application.ini /home/*/*/application.ini; do
  [ -f "$_br_f" ] && grep -q '^Name=Firefox' "$_br_f" 2>/dev/null &&
    printf 'selfupdating %s\n' "$(printf '%s' "${_br_f%/application.ini}" | _br_b64)"
done
undone_end 0

undone_begin profiles
_br_n=0
for _br_h in /root /home/* /Users/*; do
  [ -d "$_br_h" ] || continue
  for _br_b in \
    "google-chrome|.config/google-chrome" "chromium|.config/chromium" \
    "edge|.config/microsoft-edge" "chromium|snap/chromium/common/chromium" \
    "google-chrome|.var/app/com.google.Chrome/config/google-chrome" \
    "chromium|.var/app/org.chromium.Chromium/config/chromium" \
    "edge|.var/app/com.microsoft.Edge/config/microsoft-edge" \
    "google-chrome|Library/Application Support/Google/Chrome" \
    "chromium|Library/Application Support/Chromium" \
    "edge|Library/Application Support/Microsoft Edge"; do
    _br_name=${_br_b%%|*}
    _br_base="$_br_h/${_br_b#*|}"
    [ -d "$_br_base" ] || continue
    for _br_pf in "$_br_base"/*/Preferences; do
      [ -f "$_br_pf" ] || continue
      _br_n=$((_br_n + 1))
      [ "$_br_n" -gt 60 ] && break 3
      _br_p=${_br_pf%/Preferences}
      printf 'profile\t%s\t%s\t%s\n' "$(printf '%s' "$_br_name" | _br_b64)" \
        "$(printf '%s' "$_br_h" | _br_b64)" "$(printf '%s' "$_br_p" | _br_b64)"
      _br_e=0
      for _br_m in "$_br_p"/Extensions/*/*/manifest.json; do
        [ -f "$_br_m" ] || continue
        _br_e=$((_br_e + 1))
        if [ "$_br_e" -gt 200 ]; then
          printf 'more\t%s\n' "$(printf '%s' "$_br_p" | _br_b64)"
          break
        fi
        _br_file manifest "$_br_m"
        _br_loc=$(sed -n 's/.*"default_locale"[[:space:]]*:[[:space:]]*"\([A-Za-z_-]*\)".*/\1/p' \
          "$_br_m" 2>/dev/null | head -n 1)
        if [ -n "$_br_loc" ] && [ -f "${_br_m%/manifest.json}/_locales/$_br_loc/messages.json" ]; then
          _br_file messages "${_br_m%/manifest.json}/_locales/$_br_loc/messages.json"
        fi
      done
      _br_file prefs "$_br_p/Secure Preferences"
      _br_file prefs "$_br_pf"
    done
  done
  for _br_b in .mozilla/firefox snap/firefox/common/.mozilla/firefox \
    .var/app/org.mozilla.firefox/.mozilla/firefox "Library/Application Support/Firefox/Profiles"; do
    _br_base="$_br_h/$_br_b"
    [ -d "$_br_base" ] || continue
    for _br_x in "$_br_base"/*/extensions.json; do
      [ -f "$_br_x" ] || continue
      _br_n=$((_br_n + 1))
      [ "$_br_n" -gt 60 ] && break 3
      printf 'profile\t%s\t%s\t%s\n' "$(printf '%s' firefox | _br_b64)" \
        "$(printf '%s' "$_br_h" | _br_b64)" "$(printf '%s' "${_br_x%/extensions.json}" | _br_b64)"
      _br_file extjson "$_br_x"
    done
  done
done
[ "$_br_n" -gt 60 ] && printf 'truncated\tprofiles\n'
undone_end 0

undone_begin policies
for _br_f in /etc/firefox/policies/policies.json /usr/lib/firefox/distribution/policies.json \
  /usr/lib/firefox-esr/distribution/policies.json /opt/*/distribution/policies.json \
  /home/*/*/distribution/policies.json \
  /Applications/Firefox.app/Contents/Resources/distribution/policies.json \
  /etc/opt/chrome/policies/managed/*.json /etc/chromium/policies/managed/*.json \
  /etc/opt/edge/policies/managed/*.json; do
  [ -f "$_br_f" ] || continue
  _br_file policy "$_br_f"
done
undone_end 0

if [ "$(uname -s 2>/dev/null)" = Darwin ]; then
  undone_begin mac_policies
  for _br_f in "/Library/Managed Preferences/org.mozilla.firefox.plist" \
    /Library/Preferences/org.mozilla.firefox.plist \
    "/Library/Managed Preferences/com.google.Keystone.plist" \
    /Library/Preferences/com.google.Keystone.Agent.plist; do
    [ -f "$_br_f" ] || continue
    printf 'plist\t%s\t' "$(printf '%s' "$_br_f" | _br_b64)"
    plutil -convert xml1 -o - "$_br_f" 2>/dev/null | head -c 65536 | _br_b64
    printf '\n'
  done
  undone_end 0
fi
undone_begin end
undone_end 0
