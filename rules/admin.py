"""Read-only admin of the ФЛК settings and journal: changes go through rules.services (the
API), which validates against the catalogue and writes the action journal."""

from django.contrib import admin

from .models import RuleParameter, RuleSwitch, Violation


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RuleParameter)
class RuleParameterAdmin(ReadOnlyAdmin):
    list_display = ["rule_code", "name", "value", "institution", "valid_from", "valid_to", "set_by", "set_at",
                    "reason"]
    list_filter = ["rule_code"]
    search_fields = ["rule_code", "name", "reason"]


@admin.register(RuleSwitch)
class RuleSwitchAdmin(ReadOnlyAdmin):
    list_display = ["rule_code", "enabled", "institution", "valid_from", "actor", "at", "reason"]
    list_filter = ["rule_code", "enabled"]


@admin.register(Violation)
class ViolationAdmin(ReadOnlyAdmin):
    list_display = ["at", "rule_code", "outcome", "institution_id", "user_full_name", "scope", "field", "text"]
    list_filter = ["outcome", "rule_code", "scope"]
    search_fields = ["user_full_name", "rule_code"]
