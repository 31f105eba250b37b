from django.contrib import admin

from access.admin import ReferenceAdmin

from .models import DepreciationNorm


@admin.register(DepreciationNorm)
class DepreciationNormAdmin(ReferenceAdmin):
    """Dated depreciation norms (R18): an administrator closes a row by `valid_to` and adds the
    new rate from the next day; runs read the norm in force on the month's last day."""

    list_display = ["account", "accumulated_account", "annual_rate_percent", "valid_from", "valid_to", "status",
                    "source"]
    list_filter = ["status"]
    search_fields = ["account"]
