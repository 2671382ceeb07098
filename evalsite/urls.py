"""Top-level URLs: rater links under /s/, researcher pages under /studies/, admin, health."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from evalsite import views
from evalsite.api.endpoints import api
from evalsite.rating import urls as rating_urls
from evalsite.screening import urls as screening_urls

# The rater's flow is one namespace ("rating") although two apps serve it: screening builds on
# rating, so rating's URLconf cannot name screening's views; they are joined here, at the top.
rater_patterns = ([*rating_urls.urlpatterns, *screening_urls.urlpatterns], rating_urls.app_name)

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("studies/", include("evalsite.studies.urls")),
    path("api/v1/", api.urls),
    path("s/", include(rater_patterns)),
]
