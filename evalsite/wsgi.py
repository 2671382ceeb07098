"""WSGI entry point (gunicorn evalsite.wsgi); refuses to start against an unreachable database."""

import os
import sys

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
application = get_wsgi_application()

from evalsite.dbcheck import database_problem  # noqa: E402

if problem := database_problem():
    sys.exit(problem)
