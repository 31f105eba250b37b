"""Reference data and settings whose field changes django-auditlog records."""

from auditlog.registry import auditlog

from .models import (
    Account,
    AccountSpecific,
    BudgetProgramme,
    Counterparty,
    FundingSource,
    SchemeLine,
    Specific,
)

for model in (Account, Specific, BudgetProgramme, FundingSource, AccountSpecific, Counterparty, SchemeLine):
    auditlog.register(model)
