"""Routes of the ФЛК API; esep/api_urls.py mounts them under rules/ (/api/v1/rules/…)."""

from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("catalogue", api.CatalogueViewSet, basename="rules-catalogue")
router.register("switches", api.RuleSwitchViewSet, basename="rules-switch")
router.register("parameters", api.RuleParameterViewSet, basename="rules-parameter")
router.register("violations", api.ViolationViewSet, basename="rules-violation")

urlpatterns = router.urls
