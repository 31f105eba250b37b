from django.urls import path

from . import views

urlpatterns = [
    path("plans/", views.plans, name="financing_plans"),
    path("plans/<int:pk>/", views.plan_version, name="financing_plan_version"),
    path("plans/diff/", views.plan_diff, name="financing_plan_diff"),
    path("execution/", views.execution, name="financing_execution"),
    path("contracts/", views.contracts, name="financing_contracts"),
    path("contracts/<int:pk>/", views.contract_detail, name="financing_contract"),
    path("exchange/", views.exchange, name="financing_exchange"),
]
