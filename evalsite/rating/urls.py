"""Rater URLs, all under /s/<study>/ (screening pages included, one namespace for the flow)."""

from django.urls import path

from evalsite.rating import views
from evalsite.screening import views as screening_views

app_name = "rating"
urlpatterns = [
    path("<slug:slug>/", views.entry, name="entry"),
    path("<slug:slug>/consent/", views.consent, name="consent"),
    path("<slug:slug>/instructions/", views.instructions, name="instructions"),
    path("<slug:slug>/display/", views.display, name="display"),
    path("<slug:slug>/colour/", screening_views.colour, name="colour"),
    path("<slug:slug>/artifacts/", screening_views.artifact, name="artifact"),
    path("<slug:slug>/compare/", views.trial, name="trial"),
    path("<slug:slug>/done/", views.done, name="done"),
    path("<slug:slug>/stopped/", views.stopped, name="stopped"),
    path("<slug:slug>/img/<str:owner>/<str:key>/", views.image, name="image"),
]
