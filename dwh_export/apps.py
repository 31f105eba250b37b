from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DwhExportConfig(AppConfig):
    name = "dwh_export"
    verbose_name = _("Export to the central warehouse БО ДБҚ: outbox, delivery, reconciliation")
    # The side menu includes this template (access.context_processors.shell).
    nav_template = "dwh_export/_nav.html"

    def ready(self):
        from esep.events import statement_approved

        # Synchronous signal: the outbox row commits or rolls back with the approval.
        statement_approved.connect(_on_statement_approved, dispatch_uid="dwh_export.statement_approved")


def _on_statement_approved(sender, **kwargs):
    from . import services

    services.emit_statement(**kwargs)
