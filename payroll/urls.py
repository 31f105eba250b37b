from django.urls import path

from . import views

urlpatterns = [
    path("", views.runs, name="payroll_runs"),
    path("runs/start/", views.run_start, name="payroll_run_start"),
    path("runs/<int:pk>/", views.run_detail, name="payroll_run"),
    path("runs/<int:pk>/progress/", views.run_progress, name="payroll_run_progress"),
    path("runs/<int:pk>/post/", views.run_post, name="payroll_run_post"),
    path("runs/<int:pk>/reopen/", views.run_reopen, name="payroll_run_reopen"),
    path("runs/<int:pk>/lines/<int:line>/", views.line_detail, name="payroll_line"),
    path("runs/<int:pk>/lines/<int:line>/payslip.pdf", views.payslip, name="payroll_payslip"),
    path("runs/<int:pk>/statement.<str:fmt>", views.statement, name="payroll_statement"),
    path("runs/<int:pk>/registers/", views.register_create, name="payroll_register_create"),
    path("registers/<int:pk>/file.csv", views.register_file, name="payroll_register_file"),
    path("employees/", views.employees, name="payroll_employees"),
    path("employees/import/", views.employees_import, name="payroll_employees_import"),
    path("employees/<int:pk>/dismiss/", views.employee_dismiss, name="payroll_employee_dismiss"),
    path("advances/", views.advances, name="payroll_advances"),
    path("advances/pay/", views.advance_pay, name="payroll_advance_pay"),
    path("fund/", views.fund, name="payroll_fund"),
    path("fund/set/", views.fund_set, name="payroll_fund_set"),
    path("staff/", views.staff, name="payroll_staff"),
    path("staff/add/", views.staff_add, name="payroll_staff_add"),
    path("employees/add/", views.employee_add, name="payroll_employee_add"),
    path("timesheets/", views.timesheets, name="payroll_timesheets"),
    path("timesheets/save/", views.timesheet_save, name="payroll_timesheet_save"),
    path("parameters/", views.parameters, name="payroll_parameters"),
]
