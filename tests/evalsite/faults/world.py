"""What the fault tests do to the stack's database from outside it: ``python world.py COMMAND ARGS``.

Runs in its own process with the stack's environment (DATABASE_URL, PICO_VAR_DIR, ...), since
the test process's Django talks to pytest-django's test database. Prints one JSON document.

- ``raters FILE N``: generate and launch the study FILE, and N raters walked to their first trial
  (no screening in a fault study), each logged into a session; prints slug and sessions.
- ``ledger SLUG``: every trial of the study, in order, with its token and judgment count.
- ``draft FILE``: register the study FILE as a draft and queue its generation for the worker.
- ``generation SLUG``: the study's generation state, counts and message.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parents[3]


def raters(study_file: str, count: str) -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    from evalsite.rating import services
    from evalsite.rating.access import bind_session, session_key
    from evalsite.studies.services import create_study_from_file, launch_study
    from tests.evalsite.conftest import desktop_display

    owner, _ = get_user_model().objects.get_or_create(username="faults")
    study = launch_study(study=create_study_from_file(study_file, owner=owner))
    sessions = {}
    for _ in range(int(count)):
        rater = services.start_rater(study=study, params={})
        services.give_consent(rater=rater)
        services.finish_instructions(rater=rater)
        services.record_display(rater=rater, display=desktop_display())
        session = SessionStore()
        session[session_key(study)] = rater.pk
        session.create()
        bind_session(session)
        sessions[rater.pk] = session.session_key
    return {"slug": study.slug, "sessions": sessions}


def ledger(slug: str) -> list[dict]:
    from django.db.models import Count

    from evalsite.rating.models import Trial

    trials = Trial.objects.filter(rater__study__slug=slug).annotate(judgments=Count("judgment"))
    return [
        {"rater": t.rater_id, "seq": t.seq, "token": t.token, "judgments": t.judgments}
        for t in trials.order_by("rater_id", "seq")
    ]


def draft(study_file: str) -> dict:
    from django.contrib.auth import get_user_model

    from evalsite.studies.config import load_study_file
    from evalsite.studies.services import register_study
    from evalsite.studies.tasks import queue_generation

    owner, _ = get_user_model().objects.get_or_create(username="faults")
    config = load_study_file(study_file)
    study = register_study(config=config, owner=owner, study_file=Path(study_file).read_text())
    queue_generation(study, Path(study_file))
    return {"slug": study.slug}


def generation(slug: str) -> dict:
    from evalsite.studies.models import Study

    study = Study.objects.get(slug=slug)
    return {
        "generation": study.generation,
        "done": study.generation_done,
        "total": study.generation_total,
        "message": study.generation_message,
    }


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    django.setup()
    command, *args = sys.argv[1:]
    print(json.dumps({"raters": raters, "ledger": ledger, "draft": draft, "generation": generation}[command](*args)))
