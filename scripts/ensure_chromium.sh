#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through Playwright (never `playwright install`:
# it downloads a browser, which these machines cannot).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
echo "chromium: installing Debian's chromium (about 25 s)" >&2
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version >&2
