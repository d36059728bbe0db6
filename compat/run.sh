#!/usr/bin/env bash
# The compatibility suite: Okta's real client libraries (auth-js 7 and 8, sign-in widget 7,
# management SDK 8) against the real Latchkey server, on SQLite and on PostgreSQL.
#
#   compat/run.sh                 # npm ci, then every test file on both backends
#   LATCHKEY_COMPAT_BACKENDS=sqlite compat/run.sh test/widget.test.mjs
#
# Needs: target/debug/latchkey and target/debug/latchkey-mail-sink
# (cargo build -p latchkey-server -p latchkey-mail-sink), Node 20+, /usr/bin/chromium
# (or CHROMIUM_BIN), psql and a PostgreSQL server at LATCHKEY_TEST_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/postgres) unless the backends exclude postgres.
set -euo pipefail
cd "$(dirname "$0")"
root="$(cd .. && pwd)"

fail() { echo "compat: $*" >&2; exit 1; }
for bin in "${LATCHKEY_BIN:-$root/target/debug/latchkey}" "${LATCHKEY_MAIL_SINK_BIN:-$root/target/debug/latchkey-mail-sink}"; do
  [ -x "$bin" ] || fail "$bin is missing: run cargo build -p latchkey-server -p latchkey-mail-sink"
done
[ -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ] || fail "Chromium not found: apt-get install -y chromium (or set CHROMIUM_BIN)"
backends="${LATCHKEY_COMPAT_BACKENDS:-sqlite,postgres}"
if [[ ",$backends," == *",postgres,"* ]]; then
  psql "${LATCHKEY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}" -X -q -c 'SELECT 1' >/dev/null \
    || fail "PostgreSQL is not reachable at ${LATCHKEY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
fi

npm ci --no-audit --no-fund --loglevel=error

export LATCHKEY_COMPAT_BACKENDS="$backends"
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(test/*.test.mjs)
# Two files at a time; every test bounds its own waits, this bounds a whole file.
exec node --test --test-concurrency=2 --test-timeout=600000 --test-reporter=spec "${files[@]}"
