from django.apps import AppConfig


class RatingConfig(AppConfig):
    """Raters: consent, display check, trials, judgments and completion."""

    name = "evalsite.rating"
    label = "rating"
