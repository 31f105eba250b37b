"""Statement forms, line maps and memorial-order numbering are data an administrator edits;
django-auditlog records each field change (the admin journals each save as well)."""

from auditlog.registry import auditlog

from .models import FormLine, LineMap, MemorialOrderType

for model in (FormLine, LineMap, MemorialOrderType):
    auditlog.register(model)
