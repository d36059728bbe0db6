#!/usr/bin/env bash
# Fuzzes the OpenAPI document (`/openapi.json`) against a real `latchkey serve --dev` with
# schemathesis (pinned in requirements.txt, in a virtualenv created here): no 5xx, and every
# status, content type, header and body as the document declares, on every operation.
#   tests/openapi/run.sh [sqlite|postgres]...   (default: both)
# MAX_EXAMPLES (default 25) bounds the examples per operation. PostgreSQL:
# LATCHKEY_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres); a throwaway
# database is created and dropped. The per-address budgets are raised so random requests reach
# the handlers instead of the 429 every budget ends in (429 is declared and checked all the same).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../suite.sh
source "$here/../suite.sh"
suite_init openapi schemathesis "$@"

server_pid=""
db_name=""
stop_server() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  server_pid=""
}
cleanup() {
  stop_server
  if [[ -n "$db_name" ]]; then psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

for backend in "${backends[@]}"; do
  prepare_backend "$backend" latchkey_openapi
  echo "== schemathesis on $backend"
  port="$(free_port)"
  token="openapi-admin-$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
  base="http://127.0.0.1:$port"
  LATCHKEY_LISTEN="127.0.0.1:$port" LATCHKEY_METRICS_LISTEN=127.0.0.1:0 LATCHKEY_DATA_DIR="$data" LATCHKEY_DATABASE_URL="$db_url" \
    LATCHKEY_MASTER_KEY_FILE="$master_key" \
    LATCHKEY_ADMIN_TOKEN="$token" LATCHKEY_ADMIN_EMAIL=admin@example.com \
    LATCHKEY_ADMIN__PER_IP_FAILURES_PER_HOUR=1000000 LATCHKEY_SIGNIN__PER_IP_FAILURES_PER_HOUR=1000000 \
    LATCHKEY_OTP__PER_IP_FAILURES_PER_HOUR=1000000 LATCHKEY_RECOVERY__PER_IP_PER_HOUR=1000000 \
    LATCHKEY_TOKENS__PER_IP_FAILURES_PER_HOUR=1000000 \
    "$bin" serve --dev >"$data/server.out" 2>"$data/server.log" &
  server_pid=$!
  for _ in $(seq 1 100); do
    grep -q '^listening on' "$data/server.out" 2>/dev/null && break
    sleep 0.1
  done
  grep -q '^listening on' "$data/server.out" || { cat "$data/server.log" >&2; exit 1; }

  # From the scratch directory: schemathesis keeps a cache (.schemathesis/) where it runs.
  (cd "$work" && "$venv/bin/schemathesis" run "$base/openapi.json" --url "$base" \
    -H "Authorization: SSWS $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing --max-examples "${MAX_EXAMPLES:-25}" --workers 2 --no-color)
  stop_server
done
