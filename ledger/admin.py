from django.contrib import admin

from access.admin import JournaledAdmin, ReferenceAdmin

from .models import (
    Account,
    AccountSpecific,
    BudgetProgramme,
    Counterparty,
    FundingSource,
    SchemeLine,
    Specific,
)


@admin.register(Account)
class AccountAdmin(ReferenceAdmin):
    list_display = ["code", "name_ru", "name_kk", "kind", "is_cash", "valid_from", "valid_to", "status", "source"]
    list_filter = ["section", "kind", "status"]
    search_fields = ["code", "name_ru", "name_kk"]


@admin.register(Specific)
class SpecificAdmin(ReferenceAdmin):
    list_display = ["code", "name_ru", "name_kk", "valid_from", "valid_to", "status", "source"]
    list_filter = ["category", "status"]
    search_fields = ["code", "name_ru", "name_kk"]


@admin.register(BudgetProgramme)
class BudgetProgrammeAdmin(ReferenceAdmin):
    list_display = ["administrator", "programme", "subprogramme", "name_ru", "valid_from", "valid_to", "status"]
    list_filter = ["administrator", "status"]
    search_fields = ["name_ru", "name_kk", "programme"]


@admin.register(FundingSource)
class FundingSourceAdmin(ReferenceAdmin):
    list_display = ["code", "name_ru", "name_kk"]


@admin.register(AccountSpecific)
class AccountSpecificAdmin(ReferenceAdmin):
    list_display = ["account", "specific", "valid_from", "valid_to", "status"]
    list_filter = ["status"]


@admin.register(Counterparty)
class CounterpartyAdmin(JournaledAdmin):
    list_display = ["institution", "iin_bin", "name", "source"]
    search_fields = ["iin_bin", "name"]
    list_filter = ["institution"]


@admin.register(SchemeLine)
class SchemeLineAdmin(ReferenceAdmin):
    list_display = ["operation", "amount_key", "debit_account", "credit_account", "specific", "institution",
                    "valid_from", "valid_to", "status"]
    list_filter = ["operation", "status"]
    search_fields = ["operation", "amount_key", "debit_account", "credit_account"]
