# undone section posix.firewall: which host firewall filters inbound traffic, and its default.
# Reads: `nft list ruleset`, `iptables -S` and `ip6tables -S` (every chain of the filter table,
# so that a jump from INPUT can be followed), `ufw status verbose`,
# `firewall-cmd --state`, and when systemd runs, `systemctl is-active` of ufw, firewalld and
# nftables. Nothing is listed with counters reset or rules changed.
# Privilege: root (reading the kernel's rules needs it); as another user the parser reports that
# root is needed rather than guessing. Writes nothing.
undone_cmd uid id -u
undone_cmd nft nft list ruleset
undone_cmd iptables iptables -S
undone_cmd ip6tables ip6tables -S
undone_cmd ufw ufw status verbose
undone_cmd firewalld firewall-cmd --state
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  undone_begin services
  for _fw_u in ufw firewalld nftables; do
    printf '%s %s\n' "$_fw_u" "$(systemctl is-active "$_fw_u" 2>/dev/null </dev/null)"
  done
  undone_end 0
fi
# last, an empty block: the parser can tell a complete output from a cut one
undone_begin end
undone_end 0
