from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = _("Registers and financial statements FO-1…FO-5, consolidation, approval")
    # The side menu includes this template (access.context_processors.shell).
    nav_template = "reporting/_nav.html"

    def ready(self):
        from . import audit  # noqa: F401  (registers line maps and forms with django-auditlog)
