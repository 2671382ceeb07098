"""gunicorn settings of the production stack (``make serve``; docs/configuration.md, "Production").

Sync workers forked from one master that imported the site and its URLconf once (a worker is
ready at once instead of importing the analysis stack on its first request). Each worker is
replaced after ``max_requests`` requests, with jitter so they do not all restart together.
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import Any

from evalsite.env import envint, envstr

bind = [envstr("BIND") or "127.0.0.1:8000"]
# WEB_CONCURRENCY is gunicorn's own variable; one worker per core plus one keeps a core busy
# while another worker waits on the database (2, 3 and 4 workers measured alike on 2 cores).
workers = envint("WEB_CONCURRENCY", (os.cpu_count() or 1) + 1)
preload_app = True
max_requests = envint("WEB_MAX_REQUESTS", 5000)
max_requests_jitter = max_requests // 10
timeout = envint("WEB_TIMEOUT", 30)  # a worker silent this long is killed and replaced
graceful_timeout = 10
keepalive = 5
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # heartbeats never wait on a slow disk

# One line per request with its time in milliseconds. The path only (%(U)s, no query string):
# a rater's entry link carries the crowd platform's participant id, which must not reach the log.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms %(p)s'
# Several stacks on one machine (the fault tests, the load benchmark) would share its one default path.
control_socket_disable = True


def when_ready(server: Any) -> None:
    """In the master, after loading the app and before forking: import the URLconf and every view behind it."""
    from django.conf import settings
    from django.db import connections

    import_module(settings.ROOT_URLCONF)
    connections.close_all()  # a connection opened by an import must not be shared by the forked workers
