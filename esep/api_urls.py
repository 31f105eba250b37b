from django.urls import include, path

urlpatterns = [
    path("", include("access.api_urls")),
    path("", include("ledger.api_urls")),
    path("rules/", include("rules.api_urls")),
]
