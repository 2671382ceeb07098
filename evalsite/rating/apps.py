from django.apps import AppConfig
from django.db.models.signals import post_migrate

from evalsite.throttling import create_cache_table


class RatingConfig(AppConfig):
    """Raters: consent, display check, trials, judgments and completion."""

    name = "evalsite.rating"
    label = "rating"

    def ready(self) -> None:
        # The study link's entry limit counts in the database cache: `migrate` makes its table too,
        # so no deployment forgets `createcachetable` and meets a broken link.
        post_migrate.connect(create_cache_table, sender=self)
