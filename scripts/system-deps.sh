#!/usr/bin/env bash
# Install the Debian packages the tests need (PDF tools, Chromium, HarfBuzz subsetting, Caddy for the HTTPS test,
# Java for the W3C HTML checker).
# As root on Debian it installs what is missing; anywhere else it names what to install.
set -euo pipefail
packages=(poppler-utils chromium libharfbuzz-subset0 caddy libnss3-tools default-jre-headless)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "The tests need these Debian packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
