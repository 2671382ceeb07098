#!/usr/bin/env python
"""Django's command-line utility for PICO Eval (demo, create_study, export_judgments, ...)."""

import os
import sys


def main() -> None:
    """Run a management command; configuration and database errors end in one clear line."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsite.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        import django

        django.setup()
    except ImproperlyConfigured as exc:
        sys.exit(f"Configuration error: {exc}")
    from django.db.utils import OperationalError

    try:
        execute_from_command_line(sys.argv)
    except OperationalError as exc:
        from evalsite.dbcheck import database_problem

        sys.exit(database_problem() or f"Database error: {exc}")


if __name__ == "__main__":
    main()
