from django.urls import path

from . import api

urlpatterns = [
    path("plans/", api.PlansView.as_view(), name="financing-plans"),
    path("push/", api.PushView.as_view(), name="financing-push"),
    path("payments-plan/", api.PaymentsPlanView.as_view(), name="financing-payments-plan"),
    path("execution/", api.ExecutionView.as_view(), name="financing-execution"),
    path("payments/", api.PaymentsView.as_view(), name="financing-payments"),
]
