"""``python manage.py create_study FILE``: validate a study file, generate its reconstructions and import them."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from evalsite.studies.config import StudyFileError, load_study_file
from evalsite.studies.services import StudyError, create_study_from_file, launch_study, quality_warnings


class Command(BaseCommand):
    help = "Create (or resume creating) a draft study from a TOML study file; --launch opens it to raters."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the study TOML file (see fixtures/studies/demo.toml)")
        parser.add_argument(
            "--owner", default="researcher", help="username of the owning researcher (default: researcher)"
        )
        parser.add_argument("--launch", action="store_true", help="launch the study when it is ready")

    def handle(self, *args, file: str, owner: str, launch: bool, **options) -> None:
        user = get_user_model().objects.filter(username=owner).first()
        if user is None:
            raise CommandError(f"no user {owner!r}; create one with `manage.py createsuperuser` or pass --owner NAME")
        try:
            config = load_study_file(file)
            for warning in config.warnings:
                self.stderr.write(f"warning: {warning}")
            study = create_study_from_file(file, owner=user, progress=self._progress, config=config)
            if launch:
                launch_study(study=study, actor=user)
        except (StudyFileError, StudyError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"\nstudy {study.slug!r}: {study.references.count()} images, "
            f"{study.stimuli.filter(role='condition').count()} reconstructions, state {study.state}"
        )
        for note in quality_warnings(study):
            self.stderr.write(f"warning: {note}")

    def _progress(self, done: int, total: int, note: str) -> None:
        self.stdout.write(f"\r[{done}/{total}] {note[:70]:<70}", ending="")
        self.stdout.flush()
