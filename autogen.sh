#!/bin/sh
# Regenerate the build system.  automake's TAP driver is copied from the
# installed automake rather than kept in the tree.
set -e
cd "$(dirname "$0")"
autoreconf -fi
cp -f "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
