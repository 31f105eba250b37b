from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PayrollConfig(AppConfig):
    name = "payroll"
    verbose_name = _("Payroll: staff, wage fund, monthly runs, advances, payments")
    # The side menu includes this template (access.context_processors.shell).
    nav_template = "payroll/_nav.html"
