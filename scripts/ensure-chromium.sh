#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a browser downloaded from elsewhere). Installs the `chromium`
# package when it is missing and we may (root, or passwordless sudo); otherwise says what to run.
set -euo pipefail
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$browser" ]; then
  exit 0
fi
echo "chromium not found at $browser: installing the Debian package (once)…"
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "cannot install chromium without root: run 'sudo apt-get install chromium' (or set CHROMIUM_PATH)" >&2
  exit 1
fi
[ -x "$browser" ] || { echo "chromium is still missing at $browser" >&2; exit 1; }
echo "chromium installed: $("$browser" --version 2>/dev/null || echo "$browser")"
