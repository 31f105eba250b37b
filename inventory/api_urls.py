from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("assets", api.AssetViewSet, basename="inventory-asset")
router.register("counts", api.CountViewSet, basename="inventory-count")

urlpatterns = [path("e-invoice/", api.EsfImportView.as_view(), name="api-inventory-esf"), *router.urls]
