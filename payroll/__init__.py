"""Payroll: staff, wage fund, monthly runs, advances, payments."""
