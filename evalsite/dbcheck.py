"""Turn an unreachable database into one line that says what to fix."""

from __future__ import annotations

from django.conf import settings
from django.db import connections
from django.db.utils import OperationalError


def database_problem() -> str | None:
    """None if the default database answers, else a message naming DATABASE_URL and the fix."""
    try:
        connections["default"].ensure_connection()
    except OperationalError as exc:
        db = settings.DATABASES["default"]
        where = f"{db['ENGINE'].rsplit('.', 1)[-1]} database {db.get('NAME')!s}"
        if db.get("HOST"):
            where += f" on {db['HOST']}:{db.get('PORT') or 'default port'}"
        return (
            f"Cannot connect to the {where} ({str(exc).strip().splitlines()[0]}). "
            "Start the database server, or fix DATABASE_URL (unset it to use the embedded SQLite database under var/)."
        )
    return None
