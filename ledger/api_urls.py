from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("accounts", api.AccountViewSet)
router.register("specifics", api.SpecificViewSet)
router.register("programmes", api.BudgetProgrammeViewSet)
router.register("funding-sources", api.FundingSourceViewSet)
router.register("counterparties", api.CounterpartyViewSet)
router.register("entries", api.EntryViewSet)
router.register("periods", api.PeriodViewSet)
router.register("corrections", api.CorrectionLogViewSet)

urlpatterns = [
    path("trial-balance/", api.TrialBalanceView.as_view(), name="api-trial-balance"),
    path("search/", api.SearchView.as_view(), name="api-search"),
    *router.urls,
]
