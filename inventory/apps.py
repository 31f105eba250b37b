from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Electronic inventory: assets, operations, labels, counts")
    # The side menu includes this template (access.context_processors.shell).
    nav_template = "inventory/_nav.html"

    def ready(self):
        from . import audit  # noqa: F401  (registers reference data with django-auditlog)
