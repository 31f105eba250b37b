from django.contrib import admin

from access.admin import ReferenceAdmin

from .models import PayrollParameter


@admin.register(PayrollParameter)
class PayrollParameterAdmin(ReferenceAdmin):
    """Administrators add next year's МРП, МЗП, rates, caps and thresholds here: dated rows,
    no release (the calculator reads whatever is in force on the month's first day)."""

    list_display = ["key", "value", "valid_from", "valid_to", "institution", "status", "source"]
    list_filter = ["key", "status"]
    search_fields = ["key", "source"]
    ordering = ["key", "-valid_from"]
