from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    """Rater screening: colour-vision plates and artifact discrimination."""

    name = "evalsite.screening"
    label = "screening"

    def ready(self) -> None:
        # Screening items are served by the rater flow's one image URL (rating.serving), which
        # knows nothing of screening: the dependency runs from screening to rating only.
        from evalsite.rating.serving import register_image_source
        from evalsite.screening.serving import item_image

        register_image_source(item_image)
