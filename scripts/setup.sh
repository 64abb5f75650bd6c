#!/usr/bin/env bash
# Install what Liaison's demo and tests need on a fresh Debian machine with Rust:
# the Python reference tools used by interoperability tests (in ./.venv).
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
# The web UI's browser tests drive headless Debian Chromium.
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# CJK glyphs, so that screenshots of the Chinese UI show text rather than boxes.
dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'ok installed' || need_apt+=(fonts-noto-cjk)
if [ ${#need_apt[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# Pinned reference tools: the OASIS validator, pattern matcher and TAXII client.
.venv/bin/pip install -q --disable-pip-version-check \
    'stix2-validator==3.3.2' 'stix2-matcher==3.0.0' 'stix2-patterns==2.1.2' 'taxii2-client==2.3.0' 'schemathesis==4.32.5' 'medallion==3.0.0'
echo "setup: Python reference tools ready in .venv"
