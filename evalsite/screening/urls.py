"""Screening pages, part of the rater's flow under /s/<study>/ (``evalsite/urls.py`` puts them in the
``rating`` namespace with the rating app's pages)."""

from django.urls import path

from evalsite.screening import views

urlpatterns = [
    path("<slug:slug>/colour/", views.colour, name="colour"),
    path("<slug:slug>/artifacts/", views.artifact, name="artifact"),
]
