#!/usr/bin/env bash
# Chromium and its chromedriver from Debian's packages, for tests/test_nengo_gui.py (and
# the screenshot `make docs` shows). Installed only where they are missing and apt-get
# can run as root; elsewhere the test is skipped with its reason and the docs say so.
set -euo pipefail
if command -v chromium > /dev/null && command -v chromedriver > /dev/null; then
    exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    echo "== installing chromium and chromium-driver (Debian) for the nengo_gui test"
    if DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver \
            > /tmp/nengo_mpi-apt.log 2>&1 ||
       { apt-get update -q > /dev/null 2>&1 &&
         DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver \
            > /tmp/nengo_mpi-apt.log 2>&1; }; then
        exit 0
    fi
    echo "note: apt-get could not install chromium (see /tmp/nengo_mpi-apt.log)"
fi
echo "note: no chromium/chromedriver here: tests/test_nengo_gui.py will be skipped"
