#!/bin/sh
# PID 1 of one test-estate host. Started by the estate as
#   ip netns exec NS unshare --mount --uts --pid --fork --kill-child --mount-proc host-init.sh DIR
# so it runs in the host's network namespace with its own mount, UTS and PID namespaces. It lays
# the host's private files (DIR/tree, see builder.py) over the machine's, then runs the host's
# sshd in the foreground and waits for it. Mounts made here are private to the host: the machine
# and the other hosts never see them. `set -e`: a mount that fails ends the host, loudly.
set -eu
H=$1
# shellcheck source=/dev/null
. "$H/init.conf"
# optional (faults.py): FAULT, ADDRESS, RESET_AFTER, KERNEL_HOSTNAME, SSHD_BIN,
# FAULT_BIN_LAYER, FAULT_SBIN_LAYER, LOCAL_SBIN
FAULT=${FAULT:-}
printf '%s\n' "${KERNEL_HOSTNAME:-$HOST_NAME}" > /proc/sys/kernel/hostname

mount -t tmpfs -o mode=0755,size=8m,nosuid,nodev estate-run /run
mkdir -m 0755 /run/sshd /run/lock
if [ -e "$RUN_INIT/reboot-required" ]; then cp -p "$RUN_INIT"/reboot-required* /run/; fi
mount -t overlay estate-etc -o "lowerdir=/etc,upperdir=$TREE/etc,workdir=$WORK/etc" /etc
mount --bind "$TREE/os-release" /usr/lib/os-release
mount -t overlay estate-var-lib \
  -o "lowerdir=$DPKG_LAYER:/var/lib,upperdir=$TREE/var-lib,workdir=$WORK/var-lib" /var/lib
mount --bind "$TREE/var-log" /var/log
mount --bind "$TREE/srv" /srv
mount --bind "$TREE/root" /root
mount --bind "$TREE/home" /home
BIN_LOWER=/usr/bin
if [ -n "$BIN_LAYER" ]; then BIN_LOWER="$BIN_LAYER:$BIN_LOWER"; fi
if [ -n "${FAULT_BIN_LAYER:-}" ]; then BIN_LOWER="$FAULT_BIN_LAYER:$BIN_LOWER"; fi
if [ "$BIN_LOWER" != /usr/bin ]; then
  # read-only overlay whose top layers hold whiteouts: the AV programs (or the tools) are gone
  mount -t overlay estate-bin -o "lowerdir=$BIN_LOWER" /usr/bin
fi
if [ -n "${FAULT_SBIN_LAYER:-}" ]; then
  mount -t overlay estate-sbin -o "lowerdir=$FAULT_SBIN_LAYER:/usr/sbin" /usr/sbin
fi
if [ -n "${LOCAL_SBIN:-}" ]; then mount --bind "$LOCAL_SBIN" /usr/local/sbin; fi
# last: the host's own /tmp and /var/tmp (layers above may live under the machine's /tmp; from
# here on, the host directory is reached from the working directory)
cd "$H"
mount --bind "$TREE/tmp" /tmp
mount --bind "$TREE/var-tmp" /var/tmp
echo "estate host $HOST_NAME: mounts done"
SSHD=${SSHD_BIN:-/usr/sbin/sshd}
case "$FAULT" in
  tarpit)
    /usr/bin/python3 -I ./fault-server.py tarpit "$ADDRESS" 22 &
    ;;
  reset)
    "$SSHD" -D -e -f /etc/ssh/sshd_config &
    /usr/bin/python3 -I ./fault-server.py reset "$ADDRESS" 22 127.0.0.1 22 "$RESET_AFTER" &
    ;;
  *)
    "$SSHD" -D -e -f /etc/ssh/sshd_config &
    ;;
esac
wait $!
