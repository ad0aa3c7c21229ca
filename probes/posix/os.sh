# undone section posix.os: what system this is.
# Reads: uname (-s -r -m -n), /etc/os-release (else /usr/lib/os-release), sw_vers on macOS,
# /proc/uptime (else sysctl kern.boottime on BSD and macOS), id -u, the clock (date -u +%s),
# and which package managers are on PATH.
# Privilege: none; any user sees the same. Writes nothing.
undone_cmd uname_s uname -s
undone_cmd uname_r uname -r
undone_cmd uname_m uname -m
undone_cmd uname_n uname -n
if [ -e /etc/os-release ]; then
  undone_file os_release /etc/os-release
else
  undone_file os_release /usr/lib/os-release
fi
case "$(uname -s 2>/dev/null)" in
  Darwin) undone_cmd sw_vers sw_vers ;;
esac
if [ -e /proc/uptime ]; then
  undone_file uptime /proc/uptime
else
  undone_cmd boottime sysctl -n kern.boottime
fi
undone_cmd uid id -u
undone_cmd epoch date -u +%s
undone_begin package_managers
for _os_pm in apt-get dnf yum zypper apk; do
  if command -v "$_os_pm" >/dev/null 2>&1; then printf '%s\n' "$_os_pm"; fi
done
undone_end 0
# last, an empty block: the parser can tell a complete output from a cut one
undone_begin end
undone_end 0
