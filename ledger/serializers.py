"""API shapes of the ledger. Input serializers only parse; the services decide."""

from decimal import Decimal

from rest_framework import serializers

from .drafts import LINES_PER_ENTRY_MAX, EntryDraft, LineDraft
from .models import (
    Account,
    BudgetProgramme,
    CorrectionLog,
    Counterparty,
    FundingSource,
    JournalEntry,
    Period,
    PeriodTransition,
    Posting,
    Specific,
)


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "code", "name_ru", "name_kk", "section", "kind", "is_cash", "valid_from", "valid_to",
                  "source", "status"]


class SpecificSerializer(serializers.ModelSerializer):
    class Meta:
        model = Specific
        fields = ["id", "code", "category", "class_code", "subclass", "name_ru", "name_kk", "valid_from",
                  "valid_to", "source", "status"]


class BudgetProgrammeSerializer(serializers.ModelSerializer):
    class Meta:
        model = BudgetProgramme
        fields = ["id", "administrator", "functional_group", "functional_subgroup", "programme", "subprogramme",
                  "name_ru", "name_kk", "valid_from", "valid_to", "source", "status"]


class FundingSourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = FundingSource
        fields = ["id", "code", "name_ru", "name_kk"]


class CounterpartySerializer(serializers.ModelSerializer):
    class Meta:
        model = Counterparty
        fields = ["id", "iin_bin", "name", "address", "source"]
        read_only_fields = ["source"]


class PostingSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.code")
    funding_source = serializers.CharField(source="funding_source.code")

    class Meta:
        model = Posting
        fields = ["line_no", "account", "side", "amount", "administrator", "programme", "subprogramme", "specific",
                  "funding_source", "counterparty", "employee_id", "asset_id", "description"]


class EntrySerializer(serializers.ModelSerializer):
    postings = PostingSerializer(many=True, read_only=True)
    period = serializers.StringRelatedField()
    seq = serializers.IntegerField(source="seal.seq", read_only=True, default=None)
    hash = serializers.CharField(source="seal.hash", read_only=True, default=None)

    class Meta:
        model = JournalEntry
        fields = ["id", "date", "period", "doc_type", "doc_number", "memorial_order", "description", "basis",
                  "author", "created_at", "kind", "reverses", "seq", "hash", "postings"]


class EntryListSerializer(serializers.ModelSerializer):
    period = serializers.StringRelatedField()

    class Meta:
        model = JournalEntry
        fields = ["id", "date", "period", "doc_type", "doc_number", "memorial_order", "description", "kind",
                  "reverses", "created_at"]


class LineInput(serializers.Serializer):
    account = serializers.RegexField(r"^[0-9]{4}$")
    side = serializers.ChoiceField(choices=["D", "C"])
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=Decimal("0.01"))
    specific = serializers.RegexField(r"^[0-9]{3}$")
    administrator = serializers.RegexField(r"^[0-9]{3}$")
    programme = serializers.RegexField(r"^[0-9]{3}$")
    subprogramme = serializers.RegexField(r"^[0-9]{3}$")
    funding_source = serializers.CharField(max_length=30)
    counterparty = serializers.IntegerField(required=False, allow_null=True)
    employee_id = serializers.IntegerField(required=False, allow_null=True)
    asset_id = serializers.IntegerField(required=False, allow_null=True)
    description = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")

    @staticmethod
    def to_draft(data) -> LineDraft:
        return LineDraft(
            account=data["account"], side=data["side"], amount=data["amount"], specific=data["specific"],
            administrator=data["administrator"], programme=data["programme"], subprogramme=data["subprogramme"],
            funding_source=data["funding_source"], counterparty_id=data.get("counterparty"),
            employee_id=data.get("employee_id"), asset_id=data.get("asset_id"), description=data.get("description", ""),
        )


class EntryInput(serializers.Serializer):
    date = serializers.DateField()
    doc_type = serializers.CharField(max_length=60)
    doc_number = serializers.CharField(max_length=60)
    memorial_order = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=999)
    description = serializers.CharField()
    basis = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    lines = LineInput(many=True, min_length=2, max_length=LINES_PER_ENTRY_MAX)

    def to_draft(self) -> EntryDraft:
        return self.draft_from(self.validated_data)

    @staticmethod
    def draft_from(data) -> EntryDraft:
        return EntryDraft(
            date=data["date"], doc_type=data["doc_type"], doc_number=data["doc_number"],
            memorial_order=data.get("memorial_order"), description=data["description"], basis=data.get("basis", ""),
            lines=tuple(LineInput.to_draft(line) for line in data["lines"]),
        )


class BatchInput(serializers.Serializer):
    entries = EntryInput(many=True, min_length=1, max_length=5000)


class CorrectionInput(serializers.Serializer):
    reason = serializers.CharField()
    date = serializers.DateField(required=False)
    description = serializers.CharField(required=False)
    lines = LineInput(many=True, required=False, min_length=2, max_length=LINES_PER_ENTRY_MAX)


class ReasonInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class PeriodSerializer(serializers.ModelSerializer):
    class Meta:
        model = Period
        fields = ["id", "year", "month", "status", "changed_at", "changed_by"]


class PeriodTransitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = PeriodTransition
        fields = ["from_status", "to_status", "at", "actor", "reason"]


class CorrectionLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = CorrectionLog
        fields = ["id", "original", "reversal", "corrected", "original_data", "original_recorded_at", "corrected_at",
                  "actor", "actor_name", "reason"]


class TrialBalanceTotalsSerializer(serializers.Serializer):
    opening_debit = serializers.DecimalField(max_digits=18, decimal_places=2)
    opening_credit = serializers.DecimalField(max_digits=18, decimal_places=2)
    debit = serializers.DecimalField(max_digits=18, decimal_places=2)
    credit = serializers.DecimalField(max_digits=18, decimal_places=2)
    closing_debit = serializers.DecimalField(max_digits=18, decimal_places=2)
    closing_credit = serializers.DecimalField(max_digits=18, decimal_places=2)


class TrialBalanceRowSerializer(serializers.Serializer):
    account = serializers.CharField(source="code")
    name = serializers.CharField()
    opening_debit = serializers.DecimalField(max_digits=18, decimal_places=2)
    opening_credit = serializers.DecimalField(max_digits=18, decimal_places=2)
    debit = serializers.DecimalField(max_digits=18, decimal_places=2)
    credit = serializers.DecimalField(max_digits=18, decimal_places=2)
    closing_debit = serializers.DecimalField(max_digits=18, decimal_places=2)
    closing_credit = serializers.DecimalField(max_digits=18, decimal_places=2)


class TrialBalanceSerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    rows = TrialBalanceRowSerializer(many=True)
    totals = TrialBalanceTotalsSerializer()
