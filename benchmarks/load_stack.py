"""The site under test for benchmarks/bench_load.py: the production stack (``make serve``:
evalsite/deploy/serve.sh) on a free loopback port, over a fresh database holding the load study.

SQLite (WAL) lives in a temporary folder; PostgreSQL is a database of its own in the local server
that evalsite/deploy/postgres.sh starts, dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDY_FILE = ROOT / "benchmarks" / "load_study.toml"
SLUG = "load"
DEPLOY = ROOT / "evalsite" / "deploy"
PYTHON = str(Path(sys.executable))


class StackError(Exception):
    """The site could not be set up or started; the message says which step and shows its output."""


def free_port() -> int:
    """A TCP port nobody listens on at 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_unavailable() -> str | None:
    """Why no local PostgreSQL database can be made here, or None if one can."""
    if os.geteuid() != 0:
        return "starting the local PostgreSQL server needs root (evalsite/deploy/postgres.sh)"
    return None


def _run(command: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StackError(f"{what} failed ({' '.join(command)}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done


@contextmanager
def database(db: str, var_dir: Path) -> Iterator[dict[str, str]]:
    """Environment variables that point the site at a fresh database of kind ``db`` ('sqlite' or 'postgres').

    Always an explicit DATABASE_URL: without one, serve.sh (as root) would start PostgreSQL.
    """
    if db == "sqlite":
        yield {"DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}"}  # WAL mode (evalsite/settings.py)
        return
    name = f"pico_load_{os.getpid()}"
    # postgres.sh keeps the role's password in var/ (PICO_VAR_DIR unset here): the same role and
    # password as everyone else's databases on this server, which a password of its own would break.
    env = {key: value for key, value in os.environ.items() if key != "PICO_VAR_DIR"}
    url = _run([str(DEPLOY / "postgres.sh"), "--fresh", name], env, "starting PostgreSQL").stdout.strip()
    try:
        yield {"DATABASE_URL": url}
    finally:
        dropped = subprocess.run([str(DEPLOY / "postgres.sh"), "--drop", name], env=env, cwd=ROOT, check=False)
        if dropped.returncode != 0:
            print(f"could not drop database {name}: run evalsite/deploy/postgres.sh --drop {name}", file=sys.stderr)


def site_env(var_dir: Path, port: int, database_env: dict[str, str], workers: int | None) -> dict[str, str]:
    """Production settings (DEBUG off) on plain HTTP at 127.0.0.1, without the entry rate limit:
    every simulated rater comes from the same address."""
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "DEBUG", "SECRET_KEY_FILE")}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        BIND=f"127.0.0.1:{port}",
        ALLOWED_HOSTS="127.0.0.1",
        BEHIND_TLS_PROXY="0",
        SITE_URL=f"http://127.0.0.1:{port}",
        PICO_VAR_DIR=str(var_dir),
        RATER_ENTRIES_PER_MINUTE="0",
        LOG_LEVEL="WARNING",
        **database_env,
    )
    if workers is not None:
        env["WEB_CONCURRENCY"] = str(workers)
    return env


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[str]:
    """``make serve``'s stack (evalsite/deploy/serve.sh) in the background; yields its URL once it answers."""
    with log.open("ab") as out:
        server = subprocess.Popen(
            [str(DEPLOY / "serve.sh")], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://{env['BIND']}"
    try:
        _wait_until_up(url, server, log)
        yield url
    finally:
        with suppress(ProcessLookupError):
            os.kill(server.pid, signal.SIGTERM)  # serve.sh stops gunicorn and the background workers
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise StackError(f"serve.sh exited with status {server.returncode}; its log:\n{log.read_text()[-3000:]}")
        with suppress(OSError), urllib.request.urlopen(f"{url}/health/", timeout=10) as response:
            if response.status == 200:
                return
        time.sleep(0.5)
    raise StackError(f"the site did not answer {url}/health/ within {timeout_s:.0f} s; log:\n{log.read_text()[-3000:]}")


def build_study(env: dict[str, str]) -> None:
    """Build and launch the load study (benchmarks/load_study.toml) in the served database."""
    _run([PYTHON, "manage.py", "demo", "--file", str(STUDY_FILE)], env, "building the load study")
