#!/bin/sh
# Makes sure the servers the test suite starts by itself are installed: PostgreSQL
# (initdb/pg_ctl for a throwaway cluster), Chromium (browser tests), OpenLDAP (slapd with
# ppolicy and argon2, plus the ldap-utils clients) and Samba AD DC. The packages' own
# services are never used: the suite starts throwaway servers in temporary directories.
set -eu

PACKAGES="postgresql chromium slapd ldap-utils samba samba-ad-dc samba-ad-provision openssl"

have_all() {
  found_pg=1
  for f in /usr/lib/postgresql/*/bin/initdb; do
    [ -x "$f" ] && found_pg=0
  done
  [ "$found_pg" -eq 0 ] &&
    [ -x /usr/bin/chromium ] &&
    [ -x /usr/sbin/slapd ] && [ -e /usr/lib/ldap/ppolicy.so ] && [ -e /usr/lib/ldap/argon2.so ] &&
    [ -x /usr/bin/ldapsearch ] &&
    [ -x /usr/sbin/samba ] && [ -x /usr/bin/samba-tool ] &&
    command -v openssl >/dev/null 2>&1
}

if have_all; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test-services: installing $PACKAGES with apt-get" >&2
  # slapd must not configure a directory of its own on install
  echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $PACKAGES
  if have_all; then
    exit 0
  fi
  echo "test-services: some test servers are still missing after apt-get install" >&2
  exit 1
fi

echo "test-services: the test suite needs PostgreSQL, Chromium, OpenLDAP (slapd, ldap-utils) and Samba AD DC." >&2
echo "test-services: install the Debian packages first, as root:" >&2
echo "  echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections" >&2
echo "  apt-get update && apt-get install -y --no-install-recommends $PACKAGES" >&2
exit 1
