from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("institutions", api.InstitutionViewSet, basename="institution")
router.register("journal", api.ActionLogViewSet, basename="journal")

urlpatterns = router.urls
