#!/bin/sh
# tierline-agent package: before removal. Stops the service on removal, not
# on upgrade (deb: $1 = remove; rpm: $1 = 0).
set -e
case "$1" in
	remove|0)
		if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
			systemctl disable --now tierline-agent.service >/dev/null 2>&1 || true
		fi
		;;
esac
exit 0
