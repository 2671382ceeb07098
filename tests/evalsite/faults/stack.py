"""The production stack of the fault tests: gunicorn from evalsite/deploy/, PostgreSQL and background workers.

Every process is started here and killed by :meth:`Stack.close`; every wait has a timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "evalsite" / "deploy"
WORLD = Path(__file__).with_name("world.py")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60, every: float = 0.1) -> Any:
    """Poll ``condition`` until it returns something true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def kill_tree(pid: int) -> None:
    """SIGKILL a process and everything it started, as a crash of its machine would."""
    try:
        parent = psutil.Process(pid)
        family = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        return
    for process in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGKILL)
    psutil.wait_procs(family, timeout=10)


class Stack:
    """One database and var/ folder, with gunicorn and background workers started and killed on demand."""

    def __init__(self, database_url: str, var_dir: Path, *, web_workers: int = 2) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("PICO_", "DJANGO_"))},
            "DJANGO_SETTINGS_MODULE": "evalsite.settings",
            "DEBUG": "0",
            "SECRET_KEY": "fault-tests-" + "k" * 40,
            "DATABASE_URL": database_url,
            "PICO_VAR_DIR": str(var_dir),
            "ALLOWED_HOSTS": "127.0.0.1",
            "BEHIND_TLS_PROXY": "0",
            "BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(web_workers),
            "PYTHONPATH": str(ROOT),
        }
        self.log = var_dir / "stack.log"
        var_dir.mkdir(parents=True, exist_ok=True)
        self.gunicorn: subprocess.Popen | None = None
        self.workers: dict[str, subprocess.Popen] = {}

    def run(self, *args: str, timeout: float = 180) -> str:
        """Run a command of the stack (manage.py or world.py) to completion; its stdout."""
        result = subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def world(self, *args: str, timeout: float = 180) -> Any:
        return json.loads(self.run(str(WORLD), *args, timeout=timeout).strip().splitlines()[-1])

    def prepare(self) -> None:
        """What ``make serve`` does before starting: migrations (the cache table too) and static files for whitenoise."""
        self.run("manage.py", "migrate", "--noinput")
        self.run("manage.py", "collectstatic", "--noinput", "--verbosity", "0")

    def _spawn(self, *args: str) -> subprocess.Popen:
        with self.log.open("a") as log:
            return subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def start_gunicorn(self) -> None:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.gunicorn = self._spawn(str(gunicorn), "--config", str(DEPLOY / "gunicorn.conf.py"), "evalsite.wsgi")
        wait_for(self._answers, f"gunicorn to answer on {self.base} (log: {self.log})", timeout=120, every=0.3)

    def _answers(self) -> bool:
        assert self.gunicorn is not None and self.gunicorn.poll() is None, f"gunicorn exited; see {self.log}"
        try:
            return requests.get(f"{self.base}/static/rating/trial.js", timeout=10).ok
        except requests.RequestException:
            return False

    def web_workers(self) -> list[psutil.Process]:
        assert self.gunicorn is not None
        return psutil.Process(self.gunicorn.pid).children()

    def kill_web_worker(self) -> int:
        """SIGKILL one gunicorn worker; its master starts another."""
        victim = self.web_workers()[0]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        return victim.pid

    def kill_gunicorn(self) -> None:
        """SIGKILL the gunicorn master and its workers at once."""
        assert self.gunicorn is not None
        kill_tree(self.gunicorn.pid)
        self.gunicorn.wait(timeout=10)
        self.gunicorn = None

    def start_worker(self, queue: str) -> subprocess.Popen:
        self.workers[queue] = self._spawn(sys.executable, "manage.py", "run_worker", queue)
        return self.workers[queue]

    def kill_worker(self, queue: str) -> None:
        kill_tree(self.workers[queue].pid)
        self.workers.pop(queue).wait(timeout=10)

    def close(self) -> None:
        """Kill every process started here (the database and files stay)."""
        for process in [self.gunicorn, *self.workers.values()]:
            if process is not None:
                kill_tree(process.pid)
                process.wait(timeout=10)
        self.gunicorn, self.workers = None, {}
