#!/usr/bin/env bash
# Runs the authlib suite against a real `latchkey serve` on SQLite and on PostgreSQL.
#   tests/oidc-authlib/run.sh [sqlite|postgres]...   (default: both)
# PostgreSQL: LATCHKEY_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres);
# a throwaway database is created and dropped. VENV overrides where the virtualenv lives.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../suite.sh
source "$here/../suite.sh"
suite_init oidc-authlib pytest "$@"

server_pid=""
db_name=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [[ -n "$db_name" ]]; then psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

for backend in "${backends[@]}"; do
  prepare_backend "$backend" latchkey_authlib
  port="$(free_port)"
  token="authlib-admin-$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
  LATCHKEY_LISTEN="127.0.0.1:$port" LATCHKEY_METRICS_LISTEN=127.0.0.1:0 LATCHKEY_DATA_DIR="$data" LATCHKEY_DATABASE_URL="$db_url" \
    LATCHKEY_MASTER_KEY_FILE="$master_key" LATCHKEY_ADMIN_TOKEN="$token" \
    "$bin" serve --dev >"$work/server-$backend.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    grep -q "listening on" "$work/server-$backend.log" && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server-$backend.log"; exit 1; }
    sleep 0.1
  done
  echo "== authlib against $backend (http://127.0.0.1:$port)"
  status=0
  LATCHKEY_URL="http://127.0.0.1:$port" LATCHKEY_ADMIN_TOKEN="$token" \
    "$venv/bin/pytest" -q -p no:cacheprovider "$here" || status=$?
  if [[ $status -eq 0 ]]; then
    echo "== the latchkey CLI against $backend"
    cli_env=(LATCHKEY_URL="http://127.0.0.1:$port" LATCHKEY_ADMIN_TOKEN="$token" LATCHKEY_DATA_DIR="$data"
      LATCHKEY_DATABASE_URL="$db_url" LATCHKEY_MASTER_KEY_FILE="$master_key")
    env "${cli_env[@]}" "$bin" clients create --name cli --redirect-uri https://cli.example/cb >"$work/cli.json" || status=$?
    id="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["client_id"])' "$work/cli.json")"
    env "${cli_env[@]}" "$bin" clients rotate-secret "$id" | grep '"client_secret"' >/dev/null || status=1
    env "${cli_env[@]}" "$bin" clients update "$id" --name renamed | grep '"renamed"' >/dev/null || status=1
    env "${cli_env[@]}" "$bin" clients list | grep "$id" >/dev/null || status=1
    env "${cli_env[@]}" "$bin" clients delete "$id" || status=1
    env "${cli_env[@]}" "$bin" keys rotate | grep "signs from" >/dev/null || status=1
    [[ "$(env "${cli_env[@]}" "$bin" keys list | wc -l)" -ge 2 ]] || status=1
    [[ $status -eq 0 ]] && echo "clients create/rotate-secret/update/list/delete and keys rotate/list: ok"
  fi
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
  if [[ -n "$db_name" ]]; then psql "$pg_admin" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null; db_name=""; fi
  if [[ $status -ne 0 ]]; then tail -n 40 "$work/server-$backend.log"; exit "$status"; fi
done
