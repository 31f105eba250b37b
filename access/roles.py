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
    HEAD = "head", _("Head of the institution")
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
    APPROVE_INVENTORY = "inventory.approve", _("Approve inventory results and post them")
    VIEW_FINANCING = "financing.view", _("View financing plans, contracts and payments")
    EDIT_FINANCING = "financing.edit", _("Import plans, register contracts, obligations and payments")
    PREPARE_STATEMENTS = "reporting.prepare", _("Prepare and check financial statements")
    SIGN_AS_HEAD = "reporting.sign_head", _("Approve statements as head of the institution")
    VIEW_EXPORT = "export.view", _("View the export to the central warehouse")
    MANAGE_EXPORT = "export.manage", _("Order a resend to the central warehouse")


C = Capability
CAPABILITIES: dict[str, frozenset[str]] = {
    Role.CHIEF_ACCOUNTANT: frozenset({
        C.VIEW_LEDGER, C.POST_ENTRY, C.CORRECT_ENTRY, C.CLOSE_PERIOD, C.APPROVE_PERIOD,
        C.VIEW_JOURNAL, C.VIEW_PAYROLL, C.VIEW_INVENTORY, C.APPROVE_INVENTORY,
        C.VIEW_FINANCING, C.EDIT_FINANCING, C.PREPARE_STATEMENTS, C.VIEW_EXPORT,
    }),
    Role.ACCOUNTANT: frozenset({
        C.VIEW_LEDGER, C.POST_ENTRY, C.CORRECT_ENTRY, C.VIEW_PAYROLL, C.VIEW_INVENTORY,
        C.VIEW_FINANCING, C.EDIT_FINANCING, C.PREPARE_STATEMENTS, C.VIEW_EXPORT,
    }),
    Role.PAYROLL_CLERK: frozenset({C.VIEW_PAYROLL, C.EDIT_PAYROLL}),
    Role.INVENTORY_OPERATOR: frozenset({C.VIEW_INVENTORY, C.EDIT_INVENTORY}),
    # The head signs the statements beside the chief accountant (order No. 230) and reads
    # what he signs; he does not keep the books.
    Role.HEAD: frozenset({C.VIEW_LEDGER, C.VIEW_FINANCING, C.SIGN_AS_HEAD}),
    # Auditors read everything in their scope and write nothing (order No. 270).
    Role.AUDITOR: frozenset({
        C.VIEW_LEDGER, C.VIEW_JOURNAL, C.VIEW_PAYROLL, C.VIEW_INVENTORY, C.VIEW_FINANCING, C.VIEW_EXPORT,
    }),
    Role.ADMINISTRATOR: frozenset({
        C.VIEW_LEDGER, C.EDIT_REFERENCE, C.VIEW_JOURNAL, C.MANAGE_USERS, C.VIEW_EXPORT, C.MANAGE_EXPORT,
    }),
}


def capabilities_of(roles) -> frozenset[str]:
    result: set[str] = set()
    for role in roles:
        result |= CAPABILITIES.get(role, frozenset())
    return frozenset(result)
