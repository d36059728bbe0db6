# Sourced by the suites that start a real `latchkey serve` per backend (oidc-authlib, openapi).
# Needs `work` (a scratch directory) and `pg_admin` (an admin URL of a PostgreSQL server).

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
