#!/bin/sh
# tierline-agent package: after removal. The state (identity, key, spool) is
# kept on remove and upgrade and deleted only on purge (deb). rpm has no
# purge: state stays until removed by hand.
set -e
root="${DPKG_ROOT:-}"
if [ "$1" = purge ]; then
	rm -rf "$root/var/lib/tierline-agent" "$root/var/lib/tierline-agent.previous"
	rm -f "$root/etc/tierline/enroll.token"
fi
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi
exit 0
