#!/usr/bin/env bash
# A local PostgreSQL database for `make serve`, the fault tests, the load benchmark and .ci/postgres.
#
#   evalsite/deploy/postgres.sh [--fresh] [DBNAME]   start the server, make sure DBNAME exists, print its DATABASE_URL
#   evalsite/deploy/postgres.sh --drop DBNAME        drop DBNAME (nothing printed)
#
# Uses Debian's PostgreSQL (installed when missing) and its newest cluster, which Debian configures
# to listen on localhost only. Databases belong to the role `pico`, which may create databases
# (pytest-django makes test_DBNAME); its password is generated once per server into
# /var/lib/postgresql/pico.password (root only). --fresh drops DBNAME first.
# Needs root (it starts the server and runs psql as the postgres user). The only line on stdout is
# the URL, e.g. postgres://pico:PASSWORD@127.0.0.1:5432/pico; messages go to stderr.
set -euo pipefail

fresh=0 drop=0
case "${1:-}" in
  --fresh) fresh=1; shift ;;
  --drop) drop=1; shift ;;
esac
db=${1:-pico}
role=pico
if ! [[ $db =~ ^[a-z_][a-z0-9_]*$ ]]; then
  echo "postgres.sh: database name '$db' must be lowercase letters, digits and '_'" >&2; exit 2
fi
if [ "$(id -u)" != 0 ]; then
  echo "postgres.sh: starting Debian's PostgreSQL needs root; run it as root, or set DATABASE_URL to a server you run yourself" >&2
  exit 3
fi
if ! dpkg -s postgresql >/dev/null 2>&1; then
  echo "postgres.sh: installing Debian's postgresql package" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

# The newest cluster (pg_lsclusters: version, name, port, status, ...); created when there is none.
read -r version cluster port status _ < <(pg_lsclusters --no-header | sort -k1,1n | tail -1) || true
if [ -z "${version:-}" ]; then
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  pg_createcluster "$version" main >&2
  read -r version cluster port status _ < <(pg_lsclusters --no-header | sort -k1,1n | tail -1)
fi
if [ "$status" != online ]; then
  pg_ctlcluster "$version" "$cluster" start >&2
fi

sql() { su postgres -c "PGOPTIONS='-c client_min_messages=warning' psql -p $port -v ON_ERROR_STOP=1 -qtAc \"$1\""; }
if [ "$drop" = 1 ]; then
  sql "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  exit 0
fi

# One role per server, so one password per server, kept next to its data (root only).
password_file=/var/lib/postgresql/$role.password
if [ ! -s "$password_file" ]; then
  (umask 077; head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$password_file")
  verb=ALTER
  [ "$(sql "SELECT 1 FROM pg_roles WHERE rolname='$role'")" = 1 ] || verb=CREATE
  sql "$verb ROLE $role LOGIN CREATEDB PASSWORD '$(cat "$password_file")'" >/dev/null
fi
password=$(cat "$password_file")
[ "$fresh" = 1 ] && sql "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
if [ "$(sql "SELECT 1 FROM pg_database WHERE datname='$db'")" != 1 ]; then
  sql "CREATE DATABASE $db OWNER $role" >/dev/null
fi
echo "postgres://$role:$password@127.0.0.1:$port/$db"
