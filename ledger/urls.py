from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("journal/", views.journal, name="journal"),
    path("entries/new/", views.entry_new, name="entry_new"),
    path("entries/validate/", views.entry_validate, name="entry_validate"),
    path("entries/<int:pk>/", views.entry_detail, name="entry_detail"),
    path("entries/<int:pk>/correct/", views.entry_correct, name="entry_correct"),
    path("entries/<int:pk>/correct/validate/", views.entry_correct_validate, name="entry_correct_validate"),
    path("corrections/", views.correction_log, name="correction_log"),
    path("corrections/<int:pk>/", views.correction_detail, name="correction_detail"),
    path("reports/trial-balance/", views.trial_balance, name="trial_balance"),
    path("reports/account-card/", views.account_card, name="account_card"),
    path("reports/general-ledger/", views.general_ledger, name="general_ledger"),
    path("counterparties/", views.counterparties, name="counterparties"),
    path("periods/", views.periods, name="periods"),
    path("periods/open-year/", views.periods_open_year, name="periods_open_year"),
    path("periods/<int:pk>/close/", views.period_close, name="period_close"),
    path("periods/<int:pk>/reopen/", views.period_reopen, name="period_reopen"),
    path("periods/<int:pk>/approve/", views.period_approve, name="period_approve"),
]
