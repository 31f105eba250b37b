"""Ledger API under /api/v1/: thin views that parse, scope to the tenant and call services."""

import datetime as dt

import django_filters
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from access.api import HasCapability, TenantScoped
from access.middleware import current_institution
from access.models import Action
from access.roles import Capability
from access.services import log_action

from . import queries, services
from .models import (
    Account,
    BudgetProgramme,
    CorrectionLog,
    Counterparty,
    FundingSource,
    JournalEntry,
    Period,
    Specific,
)
from .serializers import (
    AccountSerializer,
    BatchInput,
    BudgetProgrammeSerializer,
    CorrectionInput,
    CorrectionLogSerializer,
    CounterpartySerializer,
    EntryInput,
    EntryListSerializer,
    EntrySerializer,
    FundingSourceSerializer,
    LineInput,
    PeriodSerializer,
    ReasonInput,
    SpecificSerializer,
    TrialBalanceSerializer,
)

AUTH = [permissions.IsAuthenticated, HasCapability]
VIEW = {"GET": Capability.VIEW_LEDGER}


class ReferenceViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [permissions.IsAuthenticated]
    pagination_class = None


class AccountViewSet(ReferenceViewSet):
    queryset = Account.objects.all()
    serializer_class = AccountSerializer
    filterset_fields = ["code", "section", "kind", "is_cash", "status"]


class SpecificViewSet(ReferenceViewSet):
    queryset = Specific.objects.all()
    serializer_class = SpecificSerializer
    filterset_fields = ["code", "status"]


class BudgetProgrammeViewSet(ReferenceViewSet):
    queryset = BudgetProgramme.objects.all()
    serializer_class = BudgetProgrammeSerializer
    filterset_fields = ["administrator", "programme", "subprogramme"]


class FundingSourceViewSet(ReferenceViewSet):
    queryset = FundingSource.objects.all()
    serializer_class = FundingSourceSerializer


class CounterpartyViewSet(TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                          viewsets.GenericViewSet):
    queryset = Counterparty.objects.all()
    serializer_class = CounterpartySerializer
    permission_classes = AUTH
    capabilities = {"GET": Capability.VIEW_LEDGER, "POST": Capability.POST_ENTRY}
    filterset_fields = ["iin_bin"]

    def perform_create(self, serializer):
        serializer.instance = services.create_counterparty(
            institution=self.institution, actor=self.request.user, request=self.request,
            **{k: serializer.validated_data.get(k, "") for k in ("iin_bin", "name", "address")},
        )


class EntryFilter(django_filters.FilterSet):
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    account = django_filters.CharFilter(field_name="postings__account__code", distinct=True)
    specific = django_filters.CharFilter(field_name="postings__specific", distinct=True)
    doc_number = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = JournalEntry
        fields = ["kind", "doc_type", "memorial_order"]


class EntryViewSet(TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                   viewsets.GenericViewSet):
    """Journal entries. POST posts one entry; a refused control answers 422 with its code."""

    queryset = JournalEntry.objects.all().select_related("period", "seal")
    permission_classes = AUTH
    capabilities = {"GET": Capability.VIEW_LEDGER, "POST": Capability.POST_ENTRY}
    filterset_class = EntryFilter

    def get_serializer_class(self):
        if self.action == "list":
            return EntryListSerializer
        if self.action == "create":
            return EntryInput
        if self.action == "batch":
            return BatchInput
        if self.action == "correct":
            return CorrectionInput
        return EntrySerializer

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action == "retrieve":
            qs = qs.prefetch_related("postings__account", "postings__funding_source")
        return qs

    @extend_schema(request=EntryInput, responses={201: EntrySerializer})
    def create(self, request, *args, **kwargs):
        data = EntryInput(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.post_entry(institution=self.institution, actor=request.user, draft=data.to_draft(),
                                    request=request)
        return Response(EntrySerializer(self.get_queryset().get(pk=entry.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=BatchInput, responses={201: EntryListSerializer(many=True)})
    @action(detail=False, methods=["post"])
    def batch(self, request):
        """Post many entries all-or-nothing."""
        data = BatchInput(data=request.data)
        data.is_valid(raise_exception=True)
        drafts = [EntryInput.draft_from(item) for item in data.validated_data["entries"]]
        entries = services.post_entries(institution=self.institution, actor=request.user, drafts=drafts,
                                        request=request, source="api batch")
        return Response({"posted": len(entries), "ids": [e.id for e in entries]}, status=status.HTTP_201_CREATED)

    @extend_schema(request=CorrectionInput, responses={201: CorrectionLogSerializer})
    @action(detail=True, methods=["post"])
    def correct(self, request, pk=None):
        """Correct by reversal (red storno) plus, when lines are given, a corrected entry (R2)."""
        entry = self.get_object()
        data = CorrectionInput(data=request.data)
        data.is_valid(raise_exception=True)
        lines = [LineInput.to_draft(line) for line in data.validated_data.get("lines", [])]
        log = services.correct_entry(
            entry=entry, actor=request.user, reason=data.validated_data["reason"], lines=lines or None,
            date=data.validated_data.get("date"), description=data.validated_data.get("description"),
            request=request,
        )
        return Response(CorrectionLogSerializer(log).data, status=status.HTTP_201_CREATED)


class PeriodViewSet(TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Period.objects.all()
    serializer_class = PeriodSerializer
    permission_classes = AUTH
    capabilities = {"GET": Capability.VIEW_LEDGER, "POST": Capability.VIEW_LEDGER}
    filterset_fields = ["year", "status"]
    pagination_class = None

    def _respond(self, period):
        return Response(PeriodSerializer(period).data)

    @extend_schema(request=None, responses=PeriodSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._respond(services.close_period(period=self.get_object(), actor=request.user, request=request))

    @extend_schema(request=ReasonInput, responses=PeriodSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        return self._respond(services.reopen_period(period=self.get_object(), actor=request.user,
                                                    reason=data.validated_data["reason"], request=request))

    @extend_schema(request=None, responses=PeriodSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._respond(services.approve_period(period=self.get_object(), actor=request.user, request=request))


class CorrectionLogViewSet(TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The correction log (R2): each corrected entry with its original data."""

    queryset = CorrectionLog.objects.all()
    serializer_class = CorrectionLogSerializer
    permission_classes = AUTH
    capabilities = VIEW


def _date_param(request, name: str, default: dt.date) -> dt.date:
    raw = request.query_params.get(name)
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: ["Use the date format YYYY-MM-DD."]}) from None


class TrialBalanceView(APIView):
    """Trial balance (оборотно-сальдовая ведомость) for any date range."""

    permission_classes = AUTH
    capabilities = VIEW

    @extend_schema(
        parameters=[OpenApiParameter("date_from", str), OpenApiParameter("date_to", str),
                    OpenApiParameter("specific", str), OpenApiParameter("funding_source", int)],
        responses=TrialBalanceSerializer,
    )
    def get(self, request):
        institution = current_institution(request)
        today = timezone.localdate()
        date_from = _date_param(request, "date_from", today.replace(month=1, day=1))
        date_to = _date_param(request, "date_to", today)
        if date_from > date_to:
            raise ValidationError({"date_to": ["The end of the range is before its start."]})
        funding = request.query_params.get("funding_source")
        tb = queries.trial_balance(institution.id, date_from, date_to,
                                   specific=request.query_params.get("specific") or None,
                                   funding_source_id=int(funding) if funding and funding.isdigit() else None)
        log_action(actor=request.user, action=Action.VIEW, request=request, institution=institution,
                   object_type="trial_balance", object_id=f"{date_from}..{date_to}")
        return Response(TrialBalanceSerializer(
            {"date_from": date_from, "date_to": date_to, "rows": tb.rows, "totals": tb.totals()}).data)


class SearchView(APIView):
    """One search box over entries, postings and counterparties (R5)."""

    permission_classes = AUTH
    capabilities = VIEW

    @extend_schema(parameters=[OpenApiParameter("q", str)], responses=EntryListSerializer(many=True))
    def get(self, request):
        institution = current_institution(request)
        hits = queries.search_entries(institution.id, request.query_params.get("q", ""))
        return Response(EntryListSerializer(hits, many=True).data)
