"""Deployment checks (`manage.py check --deploy`): production must run the access gates."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def training_gate_on(app_configs, **kwargs):
    if not settings.DEBUG and not getattr(settings, "ESEP_TRAINING_GATE", False):
        return [Warning(
            "The training gate is off (R16: untrained users must be refused).",
            hint="Set ESEP_TRAINING_GATE=true in production.",
            id="esep.W001",
        )]
    return []


@register(Tags.security, deploy=True)
def throttling_on(app_configs, **kwargs):
    if not getattr(settings, "AXES_ENABLED", True) or \
            "access.backends.ThrottlingBackend" not in settings.AUTHENTICATION_BACKENDS:
        return [Warning("Login throttling (django-axes) is off.", id="esep.W002")]
    return []
