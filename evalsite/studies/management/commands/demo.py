"""``python manage.py demo``: a researcher login and the live demo study, ready to rate; safe to run again.

Idempotent: an existing login gets its password reset, an interrupted generation resumes from
the ladder's cache, and a study that is already live is left as it is.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from evalsite.studies.config import StudyFileError, load_study_file
from evalsite.studies.models import Study
from evalsite.studies.services import StudyError, create_study_from_file, launch_study

DEMO_FILE = Path(settings.BASE_DIR) / "fixtures" / "studies" / "demo.toml"
USERNAME = "researcher"


class Command(BaseCommand):
    help = "Create the researcher login and build and launch the demo study (fixtures/studies/demo.toml)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", default=str(DEMO_FILE), help="study file to build (default: the demo)")

    def handle(self, *args, file: str, **options) -> None:
        password = os.environ.get("DEMO_PASSWORD") or secrets.token_urlsafe(9)
        user, created = get_user_model().objects.get_or_create(username=USERNAME, defaults={"is_staff": True})
        user.set_password(password)
        user.save()
        self.stdout.write(f"{'created' if created else 'updated'} researcher login {USERNAME!r}")
        try:
            slug = load_study_file(file).slug
            study = Study.objects.filter(slug=slug).first()
            if study is None or study.state == Study.State.DRAFT:
                study = create_study_from_file(file, owner=user, progress=self._progress)
                self.stdout.write("")
                launch_study(study=study, actor=user)
        except (StudyFileError, StudyError) as exc:
            raise CommandError(str(exc)) from None
        site = settings.SITE_URL
        self.stdout.write(
            self.style.SUCCESS(f"\nstudy {study.slug!r} is {study.state}: {study.references.count()} images, ")
            + f"{study.stimuli.filter(role='condition').count()} reconstructions\n"
            f"  rater link:       {site}/s/{study.slug}/\n"
            f"  researcher login: {site}{reverse('login')}  user {USERNAME}  password {password}\n"
            f"  study page:       {site}{reverse('studies:detail', kwargs={'slug': study.slug})}"
        )

    def _progress(self, done: int, total: int, note: str) -> None:
        self.stdout.write(f"\r[{done}/{total}] {note[:70]:<70}", ending="")
        self.stdout.flush()
