from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    """Rater screening: colour-vision plates and artifact discrimination."""

    name = "evalsite.screening"
    label = "screening"
