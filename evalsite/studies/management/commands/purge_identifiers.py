"""``python manage.py purge_identifiers [SLUG ...] [--days N] [--dry-run]``: forget who the raters were.

For every closed study (or the ones named) whose retention period is over (``[consent]
retention_days`` after it closed, or ``--days``), blanks its raters' crowd ids, crowd parameters
and browser strings. Judgments stay, under their pseudonyms ``r<id>``; a salted hash of each crowd
id stays so the id cannot take part again (docs/studies.md, "Privacy"). Safe to run daily (cron).
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from evalsite.studies.models import Study
from evalsite.studies.services import purge_identifiers


class Command(BaseCommand):
    help = "Remove crowd ids and browser strings of closed studies' raters after their retention period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slugs", nargs="*", help="studies to purge (default: every closed study that is due)")
        parser.add_argument("--days", type=int, help="retention in days after closing, instead of each study's own")
        parser.add_argument("--dry-run", action="store_true", help="only list the studies that are due")

    def handle(self, *args, slugs: list[str], days: int | None, dry_run: bool, **options) -> None:
        if days is not None and days < 0:
            raise CommandError("--days must be >= 0")
        studies = Study.objects.filter(state=Study.State.CLOSED).order_by("slug")
        if slugs:
            found = {s.slug: s for s in Study.objects.filter(slug__in=slugs)}
            for slug in slugs:
                if slug not in found:
                    raise CommandError(f"no study with slug {slug!r}")
                if found[slug].state != Study.State.CLOSED:
                    raise CommandError(
                        f"study {slug!r} is {found[slug].state}; identifiers are purged once it is closed"
                    )
            studies = studies.filter(slug__in=slugs)
        now = timezone.now()
        for study in studies:
            keep = timedelta(days=study.retention_days if days is None else days)
            closed = study.closed_at or now
            if closed + keep > now:
                self.stdout.write(f"{study.slug}: kept until {(closed + keep).date().isoformat()}")
                continue
            if dry_run:
                self.stdout.write(f"{study.slug}: due")
                continue
            count = purge_identifiers(study=study)
            self.stdout.write(f"{study.slug}: removed the identifiers of {count} raters")
