from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = _("Access and audit")

    def ready(self):
        from . import signals  # noqa: F401  (login/logout handlers write the action journal)
