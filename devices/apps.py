from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = _("Barcode scanners: serial, keyboard-wedge and batch terminals")
    # The side menu includes this template (access.context_processors.shell).
    nav_template = "devices/_nav.html"
