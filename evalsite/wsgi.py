"""WSGI entry point (gunicorn evalsite.wsgi); refuses to start against an unreachable database."""

import os
import sys

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
application = get_wsgi_application()

from django.db import connections  # noqa: E402

from evalsite.dbcheck import database_problem  # noqa: E402

if problem := database_problem():
    sys.exit(problem)
# gunicorn forks its workers from this process (preload_app): none may inherit its connection.
connections.close_all()
