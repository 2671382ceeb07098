"""Rater URLs, all under /s/<study>/; ``evalsite/urls.py`` adds the screening pages to the same ``rating`` namespace."""

from django.urls import path

from evalsite.rating import views

app_name = "rating"
urlpatterns = [
    path("<slug:slug>/", views.entry, name="entry"),
    path("<slug:slug>/preview/<str:token>/", views.preview, name="preview"),
    path("<slug:slug>/consent/", views.consent, name="consent"),
    path("<slug:slug>/instructions/", views.instructions, name="instructions"),
    path("<slug:slug>/display/", views.display, name="display"),
    path("<slug:slug>/compare/", views.trial, name="trial"),
    path("<slug:slug>/done/", views.done, name="done"),
    path("<slug:slug>/stopped/", views.stopped, name="stopped"),
    path("<slug:slug>/img/<str:token>/", views.image, name="image"),
]
