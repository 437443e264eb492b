#!/bin/sh
# Run a command (e.g. apptainer) from a debootstrapped Debian sid root, as an ordinary
# user, on a host that has no apptainer package (bookworm). Used by test.sh:
#
#   sid-apptainer.sh ROOT -t TMP [-u UID] [-b DIR]... -- COMMAND [ARGS]
#
# Enters ROOT in a private mount namespace (unshare --mount + pivot_root: apptainer
# refuses to run under a plain chroot), with the host's /dev, /proc, /sys and every DIR
# bound at the same path and TMP as /tmp (not the host's /tmp: apptainer binds /tmp into
# builds and containers), then runs COMMAND in the current directory as UID
# (default 1000; apptainer then uses unprivileged user namespaces, no setuid, no FUSE)
# or as root with -u 0. Needs root. Nothing outlives COMMAND.
set -eu
root=$1
shift
uid=1000
binds=""
tmp=""
while [ $# -gt 0 ]; do
    case "$1" in
        -u) uid=$2; shift 2 ;;
        -b) binds="$binds $2"; shift 2 ;;
        -t) tmp=$2; shift 2 ;;
        --) shift; break ;;
        *) echo "sid-apptainer.sh: unexpected $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "sid-apptainer.sh: needs root" >&2; exit 2; }
[ -d "$tmp" ] || { echo "sid-apptainer.sh: -t TMP: no such directory" >&2; exit 2; }
[ -x "$root/usr/bin/apptainer" ] || { echo "sid-apptainer.sh: no apptainer in $root" >&2; exit 2; }

exec unshare --mount --propagation private -- /bin/sh -eu -c '
root=$1 uid=$2 binds=$3 cwd=$4 tmp=$5
shift 5
mount --bind "$root" "$root"
for d in /dev /proc /sys; do mount --rbind "$d" "$root$d"; done
mount --bind "$tmp" "$root/tmp"
for d in $binds; do
    mkdir -p "$root$d"
    mount --rbind "$d" "$root$d"
done
cd "$root"
mkdir -p .host
pivot_root . .host
umount -l /.host
cd "$cwd" 2>/dev/null || cd /
if [ "$uid" = 0 ]; then exec "$@"; fi
exec setpriv --reuid="$uid" --regid="$uid" --clear-groups \
    env HOME=/home/nengo USER=nengo LOGNAME=nengo "$@"
' sid-apptainer "$root" "$uid" "$binds" "$PWD" "$tmp" "$@"
