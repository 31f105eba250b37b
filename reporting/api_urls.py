from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("statements", api.StatementViewSet)

urlpatterns = [
    path("grants/", api.GrantReportView.as_view(), name="api-grant-report"),
    *router.urls,
]
