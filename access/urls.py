from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("institution/switch/", views.switch_institution, name="switch_institution"),
    path("audit/journal/", views.action_journal, name="action_journal"),
]
