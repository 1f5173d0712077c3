#!/bin/sh
# Makes sure the servers the test suite starts by itself are installed:
# PostgreSQL (initdb/pg_ctl for a throwaway cluster) and Chromium (browser tests).
set -eu

have_postgres() {
  for f in /usr/lib/postgresql/*/bin/initdb; do
    [ -x "$f" ] && return 0
  done
  return 1
}

have_chromium() {
  [ -x /usr/bin/chromium ]
}

if have_postgres && have_chromium; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test-services: installing postgresql and chromium with apt-get" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql chromium
  if have_postgres && have_chromium; then
    exit 0
  fi
  echo "test-services: postgresql or chromium still missing after apt-get install" >&2
  exit 1
fi

echo "test-services: the test suite needs PostgreSQL (/usr/lib/postgresql/*/bin/initdb) and Chromium (/usr/bin/chromium)." >&2
echo "test-services: install the Debian packages first, as root:" >&2
echo "  apt-get update && apt-get install -y --no-install-recommends postgresql chromium" >&2
exit 1
