from django.apps import AppConfig
from django.db.models.signals import post_migrate

from evalsite.throttling import create_cache_table


class StudiesConfig(AppConfig):
    """Researchers: define, launch, monitor and export studies."""

    name = "evalsite.studies"
    label = "studies"

    def ready(self) -> None:
        # The preview figures and scores are kept in the database cache: `migrate` makes its table
        # too, so no deployment forgets `createcachetable`.
        post_migrate.connect(create_cache_table, sender=self)
