"""Settings whose field changes django-auditlog records."""

from auditlog.registry import auditlog

from .models import RuleParameter, RuleSwitch

for model in (RuleParameter, RuleSwitch):
    auditlog.register(model)
