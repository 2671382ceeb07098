from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    """Rater screening: colour-vision plates and artifact discrimination."""

    name = "evalsite.screening"
    label = "screening"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from evalsite.screening.tasks import top_up_on_launch
        from evalsite.studies.models import Study

        # The colour plate pool is filled when a study goes live, without the researcher side
        # having to know about screening.
        post_save.connect(top_up_on_launch, sender=Study, dispatch_uid="screening.top_up_on_launch")
