"""Administration of reference data and settings. Every change is journaled (action
journal) and its field differences kept by django-auditlog; nothing here deletes."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import Action, ActionLog, Institution, Membership, User
from .roles import Capability, capabilities_of
from .services import log_action


def edits_reference(user) -> bool:
    """Superusers, and users holding the administrator's capability in some institution."""
    if not (user.is_active and user.is_staff):
        return False
    if user.is_superuser:
        return True
    return Capability.EDIT_REFERENCE in capabilities_of(m.role for m in user.memberships.all())


class JournaledAdmin(admin.ModelAdmin):
    """Saves go to the action journal; deletes are not offered (rows are referenced by
    history and refused by triggers where it matters)."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        log_action(actor=request.user, action=Action.EDIT if change else Action.CREATE, request=request,
                   object_type=obj._meta.model_name, object_id=obj.pk,
                   details=", ".join(form.changed_data)[:4000])

    def has_delete_permission(self, request, obj=None):
        return False


class ReferenceAdmin(JournaledAdmin):
    """Reference data (chart, classification, funding sources) is edited by administrators;
    django-auditlog keeps each field change, the action journal each save."""

    def has_module_permission(self, request):
        return edits_reference(request.user)

    def has_view_permission(self, request, obj=None):
        return edits_reference(request.user)

    def has_add_permission(self, request):
        return edits_reference(request.user)

    def has_change_permission(self, request, obj=None):
        return edits_reference(request.user)


@admin.register(Institution)
class InstitutionAdmin(JournaledAdmin):
    list_display = ["bin", "name_ru", "name_kk", "administrator_code", "budget_level", "region", "parent"]
    search_fields = ["bin", "name_ru", "name_kk"]
    list_filter = ["budget_level", "region"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(User)
class EsepUserAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (("Esep", {"fields": ("patronymic", "iin", "preferred_language")}),)
    list_display = ["username", "last_name", "first_name", "patronymic", "iin", "is_active", "is_staff"]
    search_fields = ["username", "last_name", "first_name", "iin"]
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        log_action(actor=request.user, action=Action.EDIT if change else Action.CREATE, request=request,
                   object_type="user", object_id=obj.pk, details=", ".join(form.changed_data))


@admin.register(ActionLog)
class ActionLogAdmin(admin.ModelAdmin):
    list_display = ["seq", "at", "full_name", "iin", "role", "institution", "ip", "action", "object_type",
                    "object_id", "outcome"]
    list_filter = ["action", "outcome"]
    search_fields = ["full_name", "iin", "username", "object_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
