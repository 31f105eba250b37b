from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = _("Access and audit")

    def ready(self):
        from . import checks, signals  # noqa: F401  (deploy checks; login/logout handlers write the journal)
