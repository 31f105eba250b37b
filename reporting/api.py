"""Statements API (/api/v1/reports/): list and read statements, prepare, check, sign, approve,
and the monthly tied-grant report. The services check each action's capability; refused
controls answer 422 with the rule's code and message, another tenant's statement is a 404."""

import datetime as dt

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from access.api import HasCapability, TenantScoped
from access.middleware import current_institution
from access.roles import Capability

from . import grants, services
from .models import Statement

AUTH = [permissions.IsAuthenticated, HasCapability]


class StatementSerializer(serializers.ModelSerializer):
    class Meta:
        model = Statement
        fields = ["id", "kind", "period_start", "period_end", "version", "status", "checks", "data", "notes",
                  "prepared_at", "prepared_by", "checked_at", "checked_by", "head_signed_at", "head_signed_by",
                  "approved_at", "approved_by"]
        read_only_fields = fields


class StatementListSerializer(StatementSerializer):
    class Meta(StatementSerializer.Meta):
        fields = [f for f in StatementSerializer.Meta.fields if f != "data"]
        read_only_fields = fields


class PrepareInput(serializers.Serializer):
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    consolidated = serializers.BooleanField(default=False)


class StatementViewSet(TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Statement.objects.all()
    permission_classes = AUTH
    # the services check the capability of each action (prepare, check, sign, approve)
    capabilities = {"GET": Capability.VIEW_LEDGER, "POST": Capability.VIEW_LEDGER}
    filterset_fields = ["status", "kind"]

    def get_serializer_class(self):
        return StatementListSerializer if self.action == "list" else StatementSerializer

    @extend_schema(request=PrepareInput, responses=StatementSerializer)
    def create(self, request):
        data = PrepareInput(data=request.data)
        data.is_valid(raise_exception=True)
        statement = services.prepare_statement(institution=self.institution, actor=request.user, request=request,
                                               **data.validated_data)
        return Response(StatementSerializer(statement).data, status=status.HTTP_201_CREATED)

    def _run(self, request, run):
        return Response(StatementSerializer(run(statement=self.get_object(), actor=request.user,
                                                request=request)).data)

    @extend_schema(request=None, responses=StatementSerializer)
    @action(detail=True, methods=["post"])
    def check(self, request, pk=None):
        return self._run(request, services.check_statement)

    @extend_schema(request=None, responses=StatementSerializer)
    @action(detail=True, methods=["post"])
    def sign(self, request, pk=None):
        return self._run(request, services.sign_as_head)

    @extend_schema(request=None, responses=StatementSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._run(request, services.approve_statement)


class GrantReportView(APIView):
    """Monthly report on the use of tied grants (R21)."""

    permission_classes = AUTH
    capabilities = {"GET": Capability.VIEW_LEDGER}

    @extend_schema(parameters=[OpenApiParameter("year", int), OpenApiParameter("month", int)],
                   responses={200: dict})
    def get(self, request):
        try:
            year = int(request.query_params.get("year", dt.date.today().year))
            month = int(request.query_params.get("month", dt.date.today().month))
            dt.date(year, month, 1)
        except ValueError:
            raise ValidationError({"month": "year and month must name a month"}) from None
        report = grants.grant_usage(current_institution(request).id, year, month)
        return Response({
            "year": year, "month": month, "due": report["due"],
            "groups": [{"key": g["key"], "opening": str(g["opening"]), "debit": str(g["debit"]),
                        "credit": str(g["credit"]), "closing": str(g["closing"]),
                        "accounts": [{"account": r.code, "opening": str(r.opening), "debit": str(r.debit),
                                      "credit": str(r.credit), "closing": str(r.closing)} for r in g["rows"]]}
                       for g in report["groups"]],
            "counterparties": [{"iin_bin": d["counterparty__iin_bin"], "name": d["counterparty__name"],
                                "total": str(d["total"])} for d in report["donors"]],
        })
