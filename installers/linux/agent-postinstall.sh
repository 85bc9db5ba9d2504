#!/bin/sh
# tierline-agent package: after install or upgrade. Enrolls from
# /etc/tierline/enroll.token (or $TIERLINE_ENROLL_TOKEN) when the device is
# not enrolled yet, then enables and starts the service where systemd runs.
# DPKG_ROOT is set when dpkg installs into another root.
set -e
root="${DPKG_ROOT:-}"
state="$root/var/lib/tierline-agent"
mkdir -p "$state" && chmod 0700 "$state"
token="${TIERLINE_ENROLL_TOKEN:-}"
if [ -z "$token" ] && [ -r "$root/etc/tierline/enroll.token" ]; then
	token="$(tr -d ' \r\n' < "$root/etc/tierline/enroll.token")"
fi
# The organisation's recipe signing key (docs/recipes.md): pinned at
# enrollment, or now when the device is enrolled and pins none yet.
recipe_key="${TIERLINE_RECIPE_KEY:-}"
if [ -z "$recipe_key" ] && [ -r "$root/etc/tierline/recipe-key.pub" ]; then
	recipe_key="$(tr -d ' \r\n' < "$root/etc/tierline/recipe-key.pub")"
fi
if [ -e "$state/identity.json" ] && [ -n "$recipe_key" ] && [ ! -e "$state/recipe-key.json" ]; then
	"$root/usr/bin/tierline-agent" recipes --state "$state" key set "$recipe_key" || true
fi
if [ ! -e "$state/identity.json" ]; then
	if [ -n "$token" ]; then
		echo "tierline-agent: enrolling with the token from ${TIERLINE_ENROLL_TOKEN:+TIERLINE_ENROLL_TOKEN}${TIERLINE_ENROLL_TOKEN:-/etc/tierline/enroll.token}"
		if "$root/usr/bin/tierline-agent" enroll --token "$token" --state "$state" --recipe-key "$recipe_key"; then
			rm -f "$root/etc/tierline/enroll.token"
		else
			echo "tierline-agent: enrollment failed; fix the token and run: tierline-agent enroll --token TOKEN --state /var/lib/tierline-agent" >&2
		fi
	else
		echo "tierline-agent: not enrolled; put a token in /etc/tierline/enroll.token and reinstall, or run: tierline-agent enroll --token TOKEN --state /var/lib/tierline-agent"
	fi
fi
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
	if [ -e "$state/identity.json" ]; then
		systemctl enable tierline-agent.service >/dev/null 2>&1 || true
		systemctl restart tierline-agent.service || true
	fi
fi
exit 0
