"""``python manage.py create_api_token USERNAME [--name NAME] [--revoke]``: a researcher's API token."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from evalsite.api.services import issue_token, revoke_tokens


class Command(BaseCommand):
    help = "Print a new API token for a researcher (shown once), or revoke their tokens with --revoke."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="api", help="what the token is for (default: api)")
        parser.add_argument("--revoke", action="store_true", help="revoke the researcher's tokens of that name instead")

    def handle(self, *args, username: str, name: str, revoke: bool, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no researcher called {username!r}; create one with `manage.py createsuperuser`")
        if revoke:
            count = revoke_tokens(user=user, name=name)
            self.stdout.write(f"revoked {count} token(s) named {name!r} of {username}")
            return
        _, token = issue_token(user=user, name=name)
        self.stdout.write(token)
        self.stderr.write(
            f"API token {name!r} for {username}: send it as 'Authorization: Bearer <token>'; it is not shown again."
        )
