# Sourced by the Python suites that start a real `latchkey serve` per backend (oidc-authlib,
# openapi), after setting `here` to the suite's directory.

# suite_init NAME TOOL [BACKEND...]: sets root, backends (the arguments, or sqlite and postgres),
# pg_admin (LATCHKEY_TEST_POSTGRES_URL or the local default), venv (VENV, or target/NAME-venv with
# the suite's requirements.txt installed; TOOL is the program that shows it is), bin (the debug
# `latchkey`, built) and work (a scratch directory).
suite_init() {
  local name="$1" tool="$2"
  shift 2
  root="$(cd "$here/../.." && pwd)"
  backends=("${@:-sqlite postgres}")
  read -r -a backends <<<"${backends[*]}"
  pg_admin="${LATCHKEY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  venv="${VENV:-$root/target/$name-venv}"
  if [[ ! -x "$venv/bin/$tool" ]] || ! cmp -s "$here/requirements.txt" "$venv/requirements.txt"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$venv/requirements.txt"
  fi
  (cd "$root" && cargo build --quiet -p latchkey-server --bin latchkey)
  bin="$root/target/debug/latchkey"
  work="$(mktemp -d)"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# prepare_backend BACKEND PREFIX: a fresh data directory "$data", master key "$master_key" and
# database URL "$db_url" for BACKEND (sqlite or postgres). On PostgreSQL a throwaway database
# "$db_name" (PREFIX_<pid>) is created; the caller's cleanup drops it.
prepare_backend() {
  data="$work/$1"
  mkdir -p "$data"
  master_key="$work/master-$1.key"
  head -c 32 /dev/urandom >"$master_key"
  case "$1" in
    sqlite) db_url="sqlite://$data/latchkey.db" ;;
    postgres)
      db_name="${2}_$$"
      psql "$pg_admin" -qc "CREATE DATABASE $db_name" >/dev/null
      db_url="${pg_admin%/*}/$db_name"
      ;;
    *) echo "unknown backend $1" >&2; exit 2 ;;
  esac
}
