"""Reference data of the inventory whose field changes django-auditlog records."""

from auditlog.registry import auditlog

from .models import DepreciationNorm, Location, ResponsiblePerson, TiedGrant

for model in (DepreciationNorm, Location, ResponsiblePerson, TiedGrant):
    auditlog.register(model)
