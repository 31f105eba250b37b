from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("employees", api.EmployeeViewSet, basename="payroll-employee")
router.register("runs", api.RunViewSet, basename="payroll-run")
router.register("advances", api.AdvanceViewSet, basename="payroll-advance")

urlpatterns = router.urls
