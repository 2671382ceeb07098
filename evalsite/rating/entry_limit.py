"""The study link's limit on new visits per client address and minute, counted in one statement.

A fixed one-minute window per address, kept in the database (``EntryCount``): one upsert adds
the visit and returns the minute's count, atomically on PostgreSQL and SQLite alike, so every
worker and host counts the same visits exactly. The address is kept only as a keyed hash, and an
address's first visit of a minute deletes the rows of minutes past.
"""

from __future__ import annotations

import time

from django.db import connection
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from evalsite.rating.models import EntryCount
from evalsite.throttling import client_ip

WINDOW_S = 60


def count_visit(request: HttpRequest) -> int:
    """Count this visit in its address's current minute; the visits of that minute so far, this one included."""
    minute = int(time.time() // WINDOW_S)
    address = salted_hmac("pico.throttling", client_ip(request), algorithm="sha256").hexdigest()[:32]
    table, address_, minute_, visits_ = map(
        connection.ops.quote_name, (EntryCount._meta.db_table, "address", "minute", "visits")
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({address_}, {minute_}, {visits_}) VALUES (%s, %s, 1) "
            f"ON CONFLICT ({address_}) DO UPDATE SET {visits_} = CASE WHEN {table}.{minute_} = excluded.{minute_} "
            f"THEN {table}.{visits_} + 1 ELSE 1 END, {minute_} = excluded.{minute_} RETURNING {visits_}",
            [address, minute],
        )
        (visits,) = cursor.fetchone()
    if visits == 1:
        EntryCount.objects.filter(minute__lt=minute).delete()
    return visits


def over_limit(request: HttpRequest, *, per_minute: int) -> bool:
    """Count this visit; True once its address is past ``per_minute`` visits this minute."""
    return count_visit(request) > per_minute
