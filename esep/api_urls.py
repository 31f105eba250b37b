from django.urls import include, path

urlpatterns = [
    path("", include("access.api_urls")),
    path("", include("ledger.api_urls")),
    path("rules/", include("rules.api_urls")),
    path("financing/", include("financing.api_urls")),
    path("payroll/", include("payroll.api_urls")),
    path("inventory/", include("inventory.api_urls")),
    path("devices/", include("devices.api_urls")),
    path("reports/", include("reporting.api_urls")),
    path("export/", include("dwh_export.api_urls")),
]
