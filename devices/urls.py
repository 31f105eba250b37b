from django.urls import path

from . import views

app_name = "devices"

urlpatterns = [
    path("", views.device_list, name="list"),
    path("<int:pk>/", views.device_edit, name="edit"),
    path("<int:pk>/token/", views.device_token, name="token"),
    path("<int:pk>/revoke/", views.device_revoke, name="revoke"),
    path("scan/", views.scan_page, name="scan"),
    path("scan/submit/", views.scan_submit, name="scan_submit"),
    path("review/", views.review, name="review"),
    path("review/<int:pk>/", views.review_scan, name="review_scan"),
    path("batch/", views.batch_upload, name="batch"),
]
