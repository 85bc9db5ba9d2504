#!/bin/sh
# tierline-hub package: after install or upgrade.
set -e
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	echo "tierline-hub: settings go in /etc/tierline/hub.env; start with: systemctl enable --now tierline-hub"
fi
exit 0
