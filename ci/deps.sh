#!/bin/bash
# deps.sh — install what faultwire needs to build, test and run, from
# Debian's packages; only what is missing, so it is quick the second time.
set -euo pipefail

PACKAGES=(
	build-essential cmake pkg-config
	libnetfilter-queue-dev libmnl-dev libevent-dev liblua5.4-dev libjansson-dev nettle-dev check
	iptables iproute2 curl wget jq procps valgrind util-linux passwd tshark
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "faultwire needs these Debian packages: ${missing[*]}" >&2
		echo "install them as root: apt-get install ${missing[*]}" >&2
		exit 3
	fi
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
