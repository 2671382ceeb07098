from django.urls import path

from evalsite.rating import views

app_name = "rating"
urlpatterns = [
    path("<slug:slug>/", views.study_entry, name="entry"),
]
