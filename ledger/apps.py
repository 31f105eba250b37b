from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = _("Ledger")

    def ready(self):
        from . import (
            audit,  # noqa: F401  (registers reference data with django-auditlog)
            reference,  # noqa: F401  (connects cache invalidation)
        )
