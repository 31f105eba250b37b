"""Routes of the ФЛК pages; esep/urls.py mounts them under controls/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.catalogue, name="rule_catalogue"),
    path("violations/", views.violations, name="rule_violations"),
    path("<str:code>/", views.rule_detail, name="rule_detail"),
]
