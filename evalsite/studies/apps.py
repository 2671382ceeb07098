from django.apps import AppConfig


class StudiesConfig(AppConfig):
    """Researchers: define, launch, monitor and export studies."""

    name = "evalsite.studies"
    label = "studies"
