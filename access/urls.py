from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("institution/switch/", views.switch_institution, name="switch_institution"),
    path("audit/journal/", views.action_journal, name="action_journal"),
    path("access/auditors/", views.auditor_grants, name="auditor_grants"),
    path("access/auditors/<int:pk>/", views.auditor_grant, name="auditor_grant"),
    path("access/training/", views.training, name="training"),
    path("access/training/required/", views.training_required, name="training_required"),
    path("access/otp/", views.otp_enrol, name="otp_enrol"),
    path("access/otp/verify/", views.otp_verify, name="otp_verify"),
]
