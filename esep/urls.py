from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    # The language switch works on the login page too; it only sets a cookie.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("esep.api_urls")),
    path("controls/", include("rules.urls")),
    path("financing/", include("financing.urls")),
    path("payroll/", include("payroll.urls")),
    path("inventory/", include("inventory.urls")),
    path("devices/", include("devices.urls")),
    path("reports/", include("reporting.urls")),
    path("export/", include("dwh_export.urls")),
    path("", include("access.urls")),
    path("", include("ledger.urls")),
]
