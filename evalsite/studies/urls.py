"""Researcher URLs under /studies/."""

from django.urls import path

from evalsite.studies import views

app_name = "studies"
urlpatterns = [
    path("", views.study_list, name="list"),
    path("new/", views.study_create, name="create"),
    path("<slug:slug>/", views.study_detail, name="detail"),
    path("<slug:slug>/status/", views.study_status, name="status"),
    path("<slug:slug>/action/<str:action>/", views.study_action, name="action"),
    path("<slug:slug>/launch/", views.study_launch, name="launch"),
    path("<slug:slug>/raters/<int:rater_id>/", views.rater_exclusion, name="rater"),
    path("<slug:slug>/report/", views.study_report, name="report"),
    path("<slug:slug>/share/", views.study_share, name="share"),
    path("<slug:slug>/generate/", views.study_generate, name="generate"),
    path("<slug:slug>/preview/", views.study_preview, name="preview"),
    path("<slug:slug>/export/<str:name>", views.study_export, name="export"),
    path("<slug:slug>/analysis/<str:name>", views.study_analysis_file, name="analysis"),
    path("<slug:slug>/image/<str:kind>/<int:pk>/", views.study_image, name="image"),
    path("<slug:slug>/live/curves.png", views.study_live_curves, name="live_curves"),
    path("<slug:slug>/crops/", views.study_crops, name="crops"),
    path("<slug:slug>/crops/<int:pk>/", views.crop_save, name="crop_save"),
    path("<slug:slug>/crops/<str:kind>/<int:pk>/", views.crop_preview, name="crop_preview"),
]
