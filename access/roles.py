"""Roles and what each may do.

A role is held per institution (Membership); the capabilities below are the permission
vocabulary the views, the API and the services check. They are code, not data, because
each capability is wired to code paths; who holds which role is data.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CHIEF_ACCOUNTANT = "chief_accountant", _("Chief accountant")
    ACCOUNTANT = "accountant", _("Accountant")
    PAYROLL_CLERK = "payroll_clerk", _("Payroll clerk")
    INVENTORY_OPERATOR = "inventory_operator", _("Inventory operator")
    AUDITOR = "auditor", _("Auditor")
    ADMINISTRATOR = "administrator", _("Administrator")


class Capability(models.TextChoices):
    VIEW_LEDGER = "ledger.view", _("View journal, registers and reports")
    POST_ENTRY = "ledger.post", _("Post journal entries")
    CORRECT_ENTRY = "ledger.correct", _("Correct posted entries")
    CLOSE_PERIOD = "ledger.close_period", _("Close and reopen periods")
    APPROVE_PERIOD = "ledger.approve_period", _("Approve statements of a period")
    EDIT_REFERENCE = "reference.edit", _("Edit reference data")
    VIEW_JOURNAL = "access.view_journal", _("Browse the action journal")
    MANAGE_USERS = "access.manage_users", _("Manage users and memberships")
    VIEW_PAYROLL = "payroll.view", _("View payroll")
    EDIT_PAYROLL = "payroll.edit", _("Calculate payroll")
    VIEW_INVENTORY = "inventory.view", _("View inventory")
    EDIT_INVENTORY = "inventory.edit", _("Record inventory operations and scans")


C = Capability
CAPABILITIES: dict[str, frozenset[str]] = {
    Role.CHIEF_ACCOUNTANT: frozenset({
        C.VIEW_LEDGER, C.POST_ENTRY, C.CORRECT_ENTRY, C.CLOSE_PERIOD, C.APPROVE_PERIOD,
        C.VIEW_JOURNAL, C.VIEW_PAYROLL, C.VIEW_INVENTORY,
    }),
    Role.ACCOUNTANT: frozenset({
        C.VIEW_LEDGER, C.POST_ENTRY, C.CORRECT_ENTRY, C.VIEW_PAYROLL, C.VIEW_INVENTORY,
    }),
    Role.PAYROLL_CLERK: frozenset({C.VIEW_PAYROLL, C.EDIT_PAYROLL}),
    Role.INVENTORY_OPERATOR: frozenset({C.VIEW_INVENTORY, C.EDIT_INVENTORY}),
    # Auditors read everything in their scope and write nothing (order No. 270).
    Role.AUDITOR: frozenset({C.VIEW_LEDGER, C.VIEW_JOURNAL, C.VIEW_PAYROLL, C.VIEW_INVENTORY}),
    Role.ADMINISTRATOR: frozenset({
        C.VIEW_LEDGER, C.EDIT_REFERENCE, C.VIEW_JOURNAL, C.MANAGE_USERS,
    }),
}


def capabilities_of(roles) -> frozenset[str]:
    result: set[str] = set()
    for role in roles:
        result |= CAPABILITIES.get(role, frozenset())
    return frozenset(result)
