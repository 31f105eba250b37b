from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("devices", api.DeviceViewSet, basename="device")
router.register("log", api.ScanViewSet, basename="scan")

urlpatterns = [
    path("scans/", api.ScanIntake.as_view(), name="scan-intake"),
    path("me/", api.DeviceMe.as_view(), name="device-me"),
    path("batches/", api.BatchUpload.as_view(), name="scan-batch"),
    *router.urls,
]
