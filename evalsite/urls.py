"""Top-level URLs: rater links under /s/, researcher pages under /studies/, admin, health."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from evalsite import views

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("studies/", include("evalsite.studies.urls")),
    path("s/", include("evalsite.rating.urls")),
]
