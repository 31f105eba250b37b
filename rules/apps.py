from django.apps import AppConfig

from .texts import T


class RulesConfig(AppConfig):
    name = "rules"
    verbose_name = T("Форматтық-логикалық бақылаулар", "Форматно-логический контроль", "Format-logical controls")

    def ready(self):
        # The whole catalogue is loaded, validated and tried out now: a bad file raises
        # ImproperlyConfigured naming it, and the process does not start.
        from . import (
            audit,  # noqa: F401  (registers parameters and switches with django-auditlog)
            catalogue,
            engine,
            parameters,  # noqa: F401  (connects cache invalidation)
        )

        engine.install(catalogue.load())
