from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The researchers' REST API (django-ninja): the study pages' actions and downloads, by token."""

    name = "evalsite.api"
    label = "api"
