#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the PostgreSQL store tests (tests/test_postgres.py) and print the
# URL to export as LOREFORGE_TEST_DATABASE_URL. Needs root (CI runs as root): installs Debian's postgresql
# package when it is missing. Prints nothing and exits 0 when it cannot (the tests are then skipped).
set -uo pipefail
[ "$(id -u)" = 0 ] || exit 0
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null 2>&1 || exit 0
fi
BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
DIR=$(mktemp -d /tmp/lf-pg.XXXXXX)
chown postgres "$DIR"
runuser -u postgres -- "$BIN/initdb" -D "$DIR/data" -A trust -U postgres >/dev/null 2>&1 || exit 0
runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
  -o "-k $DIR -p 54329 -c listen_addresses=''" start >/dev/null 2>&1 || exit 0
echo "postgresql+psycopg://postgres@/postgres?host=$DIR&port=54329"
