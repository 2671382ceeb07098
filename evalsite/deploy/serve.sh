#!/usr/bin/env bash
# The production stack on this machine (`make serve`; docs/configuration.md, "Production"):
# PostgreSQL (evalsite/deploy/postgres.sh, when DATABASE_URL is unset and we are root), migrations,
# static files collected for whitenoise, one background worker per queue (manage.py run_worker)
# and gunicorn (evalsite/deploy/gunicorn.conf.py), all in the foreground.
#
# Supervision: gunicorn's master replaces a worker that dies; if the master itself or a background
# worker exits, this script says which, stops the others and exits 1, so that systemd (or whatever
# started it) can restart the whole stack. Ctrl-C (or SIGTERM) stops everything.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
note() { echo "serve: $*" >&2; }

export DEBUG=0
var_dir=${PICO_VAR_DIR:-var}
mkdir -p "$var_dir"
if [ -z "${SECRET_KEY:-}" ] && [ -z "${SECRET_KEY_FILE:-}" ]; then
  export SECRET_KEY_FILE="$var_dir/secret_key"
  if [ ! -s "$SECRET_KEY_FILE" ]; then
    (umask 077; "$PY" -c 'import secrets; print(secrets.token_urlsafe(50))' >"$SECRET_KEY_FILE")
    note "generated SECRET_KEY_FILE=$SECRET_KEY_FILE; keep it: raters' sessions and links depend on it"
  fi
fi
if [ -z "${DATABASE_URL:-}" ]; then
  if [ "$(id -u)" = 0 ]; then
    DATABASE_URL=$(evalsite/deploy/postgres.sh pico)
    export DATABASE_URL
  else
    note "not root, so no local PostgreSQL: using SQLite under $var_dir (set DATABASE_URL for PostgreSQL)"
  fi
fi
export BIND=${BIND:-${HOST:-127.0.0.1}:${PORT:-8000}}
export SITE_URL=${SITE_URL:-http://$BIND}
export ALLOWED_HOSTS=${ALLOWED_HOSTS:-127.0.0.1,localhost}
export BEHIND_TLS_PROXY=${BEHIND_TLS_PROXY:-0}
if [ "$BEHIND_TLS_PROXY" = 0 ]; then
  note "plain HTTP on $BIND; behind a TLS proxy set BEHIND_TLS_PROXY=1, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS and SITE_URL"
fi

"$PY" manage.py migrate --noinput
"$PY" manage.py collectstatic --noinput --verbosity 0
queues=$("$PY" -c 'from evalsite.settings import TASK_QUEUES; print(*TASK_QUEUES)')

declare -A names=()
for queue in $queues; do
  "$PY" manage.py run_worker "$queue" &
  names[$!]="background worker ($queue)"
done
.venv/bin/gunicorn --config evalsite/deploy/gunicorn.conf.py evalsite.wsgi &
names[$!]=gunicorn

stop() {
  trap - INT TERM
  kill -TERM "${!names[@]}" 2>/dev/null || true
  for _ in $(seq 30); do
    kill -0 "${!names[@]}" 2>/dev/null || break
    sleep 0.5
  done
  kill -KILL "${!names[@]}" 2>/dev/null || true
}
trap 'note "stopping"; stop; exit 0' INT TERM
note "serving on http://$BIND/ (Ctrl-C stops the site and the background workers)"
status=0
wait -n -p died || status=$?
note "${names[$died]} (pid $died) exited with status $status; stopping the rest"
unset "names[$died]"
stop
exit 1
