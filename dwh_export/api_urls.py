from django.urls import path

from . import api

urlpatterns = [path("status/", api.StatusView.as_view(), name="api_dwh_export_status")]
