"""Reference data and settings whose field changes django-auditlog records."""

from auditlog.registry import auditlog

from .models import Account, AccountSpecific, BudgetProgramme, Counterparty, FundingSource, Specific

for model in (Account, Specific, BudgetProgramme, FundingSource, AccountSpecific, Counterparty):
    auditlog.register(model)
