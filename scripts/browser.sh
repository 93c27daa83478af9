#!/usr/bin/env bash
# scripts/browser.sh — make a Chromium available for the page tests (tests/web).
#
# Debian's `chromium` package, driven by Playwright's Python API with
# `executable_path` (no browser download). Idempotent. Prints the browser's path.
#   VOISINS_CHROMIUM   an explicit browser binary to use instead
set -euo pipefail

find_browser() {
    for candidate in "${VOISINS_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if browser="$(find_browser)"; then
    echo "$browser"
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "browser.sh: apt-get install chromium" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 || {
        apt-get update -q >/dev/null 2>&1
        apt-get install -y -q --no-install-recommends chromium >/dev/null
    }
    find_browser && exit 0
fi
echo "browser.sh: no Chromium found. Install it (Debian: sudo apt-get install chromium)" >&2
echo "  or set VOISINS_CHROMIUM to a Chromium/Chrome binary." >&2
exit 1
