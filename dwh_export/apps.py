from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DwhExportConfig(AppConfig):
    name = "dwh_export"
    verbose_name = _("Export to the central warehouse БО ДБҚ: outbox, delivery, reconciliation")
    # The side menu includes this template (access.context_processors.shell).
    nav_template = "dwh_export/_nav.html"
