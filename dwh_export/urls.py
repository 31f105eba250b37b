from django.urls import path

from . import views

urlpatterns = [
    path("", views.status, name="dwh_export_status"),
    path("resend/", views.resend, name="dwh_export_resend"),
    path("reconcile/", views.reconcile_now, name="dwh_export_reconcile"),
    path("batches/<uuid:pk>/retry/", views.retry, name="dwh_export_retry"),
    path("reconciliations/<int:pk>/", views.reconciliation_detail, name="dwh_export_reconciliation"),
]
