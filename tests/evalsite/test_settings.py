"""Bad configuration stops the site with one line saying what to fix."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    # DJANGO_ALLOW_ASYNC_UNSAFE is the browser tests' setting for this test process, not the site's.
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "BEHIND_TLS_PROXY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    clean.update(PICO_VAR_DIR=str(tmp_path / "var"), **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_production_mode_without_secret_key_says_how_to_set_one(tmp_path):
    result = manage("check", tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_malformed_boolean_names_the_variable(tmp_path):
    result = manage("check", tmp_path=tmp_path, DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_secret_key_can_come_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s" * 50)
    result = manage("check", tmp_path=tmp_path, SECRET_KEY_FILE=str(secret), ALLOWED_HOSTS="example.org")
    assert result.returncode == 0, result.stderr


def test_former_secret_keys_come_from_the_environment(tmp_path):
    show = ("shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY_FALLBACKS)")
    result = manage(*show, tmp_path=tmp_path, DEBUG="1", SECRET_KEY_FALLBACKS="old-key-1, old-key-2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "['old-key-1', 'old-key-2']"
    assert manage(*show, tmp_path=tmp_path, DEBUG="1").stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_an_unreachable_database_url_names_it_and_the_fix(tmp_path):
    result = manage("migrate", tmp_path=tmp_path, DEBUG="1", DATABASE_URL="postgres://pico:pw@127.0.0.1:9/pico")
    assert result.returncode != 0
    assert "Cannot connect to the postgresql database pico on 127.0.0.1:9" in result.stderr
    assert "fix DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_default_database_is_sqlite_in_wal_mode(tmp_path):
    code = "from django.db import connection; c = connection.cursor(); c.execute('PRAGMA journal_mode'); print(c.fetchone()[0])"
    result = manage("shell", "-c", code, tmp_path=tmp_path, DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "wal"
    assert (tmp_path / "var" / "db.sqlite3").exists()


# What `check --deploy` may say in production: nothing behind a TLS proxy; on plain HTTP only the
# four settings that need HTTPS (docs/configuration.md, "Production").
PLAIN_HTTP_WARNINGS = {"security.W004", "security.W008", "security.W012", "security.W016"}


@pytest.mark.parametrize(("behind_tls_proxy", "allowed"), [("1", set()), ("0", PLAIN_HTTP_WARNINGS)])
def test_the_deploy_check_lists_only_what_a_tls_proxy_provides(tmp_path, behind_tls_proxy, allowed):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "ERROR",
        tmp_path=tmp_path,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="eval.example.org",
        BEHIND_TLS_PROXY=behind_tls_proxy,
    )
    assert result.returncode == 0, result.stderr
    reported = set(re.findall(r"^\?: \(([\w.]+)\)", result.stderr + result.stdout, flags=re.MULTILINE))
    assert reported == allowed, result.stderr
    if not allowed:
        assert "System check identified no issues" in result.stdout


def test_postgresql_connections_prepare_repeated_queries_unless_turned_off(monkeypatch):
    from evalsite import settings as site

    monkeypatch.setenv("DATABASE_URL", "postgres://pico:secret@127.0.0.1:5432/pico")
    assert site._database()["OPTIONS"] == {"server_side_binding": True, "prepare_threshold": 2}
    monkeypatch.setenv("DB_PREPARED_STATEMENTS", "0")
    assert "server_side_binding" not in site._database().get("OPTIONS", {})


@pytest.mark.django_db
def test_a_query_repeated_on_postgresql_runs_as_a_prepared_statement():
    from django.db import connection

    from evalsite.studies.models import Study

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's (the CI runs the site's tests on it too)")
    for _ in range(3):
        list(Study.objects.filter(slug="nowhere"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "studies_study"' in sql and '"slug" = $1' in sql for sql in prepared), prepared
