from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FinancingConfig(AppConfig):
    name = "financing"
    verbose_name = _("Financing plans, contracts, obligations and payments")
    # The side menu includes this template (access.context_processors.shell).
    nav_template = "financing/_nav.html"
