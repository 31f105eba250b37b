from django.contrib import admin

from access.admin import ReferenceAdmin

from .models import FormLine, LineMap, MemorialOrderType


@admin.register(LineMap)
class LineMapAdmin(ReferenceAdmin):
    list_display = ["form", "account", "side", "specific", "scope", "line", "valid_from", "valid_to", "status"]
    list_filter = ["form", "side", "scope", "status"]
    search_fields = ["account", "line", "specific"]


@admin.register(FormLine)
class FormLineAdmin(ReferenceAdmin):
    list_display = ["form", "code", "order", "name_ru", "formula", "valid_from", "valid_to", "status"]
    list_filter = ["form", "status"]
    search_fields = ["code", "name_ru", "name_kk"]


@admin.register(MemorialOrderType)
class MemorialOrderTypeAdmin(ReferenceAdmin):
    list_display = ["number", "name_ru", "credit_accounts", "valid_from", "valid_to", "status"]
    list_filter = ["status"]
