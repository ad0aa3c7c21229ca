# undone section posix.gateway: what a Linux gateway does by default with traffic to it (input)
# and through it (forward). Reads: `nft list ruleset`, `iptables -S` (the legacy backend's
# rules, when nftables holds none), /proc/sys/net/ipv4/ip_forward and
# /proc/sys/net/ipv6/conf/all/forwarding. Nothing is listed with counters reset or rules changed.
# Privilege: root (reading the kernel's rules needs it); as another user the parser reports that
# root is needed. Writes nothing.
undone_cmd uid id -u
undone_cmd nft nft list ruleset
undone_cmd iptables iptables -S
undone_file ip_forward /proc/sys/net/ipv4/ip_forward
undone_file ip6_forward /proc/sys/net/ipv6/conf/all/forwarding
# last, an empty block: the parser can tell a complete output from a cut one
undone_begin end
undone_end 0
