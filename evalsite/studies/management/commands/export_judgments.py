"""``python manage.py export_judgments SLUG --out FILE``: judgments.csv of one study, in the shared contract."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evalsite.studies.exports import write_judgments
from evalsite.studies.models import Study


class Command(BaseCommand):
    help = "Write a study's judgments as judgments.csv (excluded raters left out unless --include-excluded)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--out", required=True, help="path of the CSV file to write")
        parser.add_argument(
            "--include-excluded",
            action="store_true",
            help="also write excluded raters' judgments, flagged in an 'excluded' column",
        )

    def handle(self, *args, slug: str, out: str, include_excluded: bool, **options) -> None:
        study = Study.objects.filter(slug=slug).first()
        if study is None:
            known = ", ".join(Study.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"no study with slug {slug!r}; known studies: {known}")
        count = write_judgments(study, out, include_excluded=include_excluded)
        self.stdout.write(f"wrote {count} judgments of study {slug!r} to {out}")
