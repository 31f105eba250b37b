from django.urls import path

from . import views

urlpatterns = [
    path("", views.statement_list, name="statement_list"),
    path("statements/<int:pk>/", views.statement_detail, name="statement_detail"),
    path("statements/<int:pk>/<str:action>/", views.statement_action, name="statement_action"),
    path("statements/<int:pk>/export.<str:fmt>", views.statement_export, name="statement_export"),
    path("consolidated/", views.consolidated, name="consolidated"),
    path("jobs/<int:pk>/", views.job_detail, name="report_job"),
    path("jobs/<int:pk>/download/", views.job_download, name="report_job_download"),
    path("registers/", views.registers_page, name="registers"),
    path("registers/memorial-orders/", views.memorial_orders, name="memorial_orders"),
    path("registers/cash-book/", views.cash_book, name="cash_book"),
    path("registers/<str:kind>/export/", views.register_export, name="register_export"),
    path("grants/", views.grant_report, name="grant_report"),
    path("line-maps/", views.line_maps, name="line_maps"),
]
