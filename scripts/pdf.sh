#!/usr/bin/env bash
# scripts/pdf.sh — the system libraries WeasyPrint needs to write the housing documents
# (charter and agreement as PDF): Pango (with its FreeType backend) and a font with the
# French accents. Idempotent: installs only what is missing (Debian, as root).
set -euo pipefail

PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core)

if ! command -v dpkg-query >/dev/null; then
    echo "pdf.sh: not a Debian system; WeasyPrint needs Pango 1.44 or later and a font" >&2
    echo "  (see https://doc.courtbouillon.org/weasyprint/stable/first_steps.html)." >&2
    exit 0  # nothing to check here; WeasyPrint says what it lacks
fi

missing=()
for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "pdf.sh: apt-get install ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
        apt-get update -q >/dev/null 2>&1
        apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    }
    exit 0
fi
echo "pdf.sh: missing ${missing[*]} (the housing documents' PDF needs them)." >&2
echo "  Install them: sudo apt-get install ${missing[*]}" >&2
exit 1
