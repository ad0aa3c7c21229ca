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
echo "$HOST_NAME" > /proc/sys/kernel/hostname

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
if [ -n "$BIN_LAYER" ]; then
  # read-only overlay whose top layer holds whiteouts: the AV programs are gone
  mount -t overlay estate-bin -o "lowerdir=$BIN_LAYER:/usr/bin" /usr/bin
fi
echo "estate host $HOST_NAME: mounts done"
/usr/sbin/sshd -D -e -f /etc/ssh/sshd_config &
wait $!
