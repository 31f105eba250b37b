"""Financing API under /api/v1/financing/: thin views that parse, scope to the tenant and
call services. The planning system pushes to `push/` with its own token (not a user's)."""

import datetime as dt
import json
from decimal import Decimal

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from access.api import HasCapability
from access.errors import ControlError
from access.middleware import current_institution
from access.roles import Capability

from . import queries, services
from .imports import guess_format
from .models import Channel, Contract, PaymentKind, PlanDocument

AUTH = [permissions.IsAuthenticated, HasCapability]


def _year(value, *, required: bool = False) -> int:
    """A plan year from a query parameter, 2000–2100, or a 400 naming the parameter."""
    if value in (None, "") and not required:
        return dt.date.today().year
    try:
        year = int(value)
    except (TypeError, ValueError):
        year = 0
    if not 2000 <= year <= 2100:
        raise ValidationError({"year": _("The year must be a number between 2000 and 2100.")})
    return year


class PlanDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlanDocument
        fields = ["id", "document_id", "year", "version", "kind", "number", "date", "channel", "sender",
                  "lines_count", "imported_at"]


class PlansView(APIView):
    """GET: the versions of a year (?year=). POST: import a plan or certificate, as a JSON body
    (the schema of docs/exchange/financing-plan.schema.json) or a multipart `file` (JSON or XLSX).
    201 new version, 200 the same document again, 422 with every problem."""

    permission_classes = AUTH
    capabilities = {"GET": Capability.VIEW_FINANCING, "POST": Capability.EDIT_FINANCING}
    parser_classes = [JSONParser, MultiPartParser]

    @extend_schema(parameters=[OpenApiParameter("year", int)], responses=PlanDocumentSerializer(many=True))
    def get(self, request):
        institution = current_institution(request)
        year = _year(request.query_params.get("year"))
        return Response(PlanDocumentSerializer(queries.versions(institution, year), many=True).data)

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: PlanDocumentSerializer, 201: PlanDocumentSerializer})
    def post(self, request):
        institution = current_institution(request)
        upload = request.FILES.get("file")
        if upload is not None:
            data = upload.read()
            fmt = guess_format(upload.name, data)
            doc, created = services.import_plan(institution=institution, actor=request.user, data=data, fmt=fmt,
                                                channel=Channel.XLSX if fmt == "xlsx" else Channel.JSON,
                                                request=request)
        else:
            doc, created = services.import_plan(institution=institution, actor=request.user, data=b"",
                                                channel=Channel.JSON, request=request, document=request.data)
        return Response(PlanDocumentSerializer(doc).data, status=status.HTTP_201_CREATED if created else 200)


class PushView(APIView):
    """The planning system's push: `Authorization: Bearer <token of the sending system>`, body
    one document by the schema. Idempotent by document_id: the same document again answers 200
    with the version it became; other content under a used id is 422 FIN-IMP-ID."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT},
                   auth=[])
    def post(self, request):
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.startswith("Bearer ") else ""
        system = services.system_for_token(token)
        if system is None:
            return Response({"code": "token_invalid", "message": _("Unknown or revoked sending-system token.")},
                            status=status.HTTP_401_UNAUTHORIZED)
        try:
            document = json.loads(request.body.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ControlError("FIN-IMP-FORMAT", _("The body is not valid UTF-8 JSON.")) from None
        doc, created = services.push_plan(system=system, document=document, request=request)
        return Response({**PlanDocumentSerializer(doc).data, "created": created},
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PaymentsPlanView(APIView):
    """GET ?year=&month=&specific=[&on_date=]: the plan by payments in force (null: no plan)."""

    permission_classes = AUTH
    capabilities = {"GET": Capability.VIEW_FINANCING}

    @extend_schema(parameters=[OpenApiParameter("year", int, required=True),
                               OpenApiParameter("month", int, required=True),
                               OpenApiParameter("specific", str, required=True), OpenApiParameter("on_date", str)],
                   responses=OpenApiTypes.OBJECT)
    def get(self, request):
        year = _year(request.query_params.get("year"), required=True)
        try:
            month = int(request.query_params["month"])
            if not 1 <= month <= 12:
                raise ValueError(month)
            specific = request.query_params["specific"]
            on_date = dt.date.fromisoformat(request.query_params["on_date"]) \
                if request.query_params.get("on_date") else None
        except (KeyError, ValueError) as exc:
            raise ValidationError({"detail": "month 1-12, specific (and optional on_date, YYYY-MM-DD) are required"}) \
                from exc
        amount = queries.payments_plan(current_institution(request), year, month, specific, on_date=on_date)
        return Response({"year": year, "month": month, "specific": specific,
                         "amount": None if amount is None else str(amount)})


class ExecutionView(APIView):
    permission_classes = AUTH
    capabilities = {"GET": Capability.VIEW_FINANCING}

    @extend_schema(parameters=[OpenApiParameter("year", int), OpenApiParameter("programme", str),
                               OpenApiParameter("specific", str)], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        year = _year(request.query_params.get("year"))
        report = queries.execution(current_institution(request), year,
                                   programme=request.query_params.get("programme", ""),
                                   specific=request.query_params.get("specific", ""))
        return Response({"year": year, "on_date": report.on_date, "rows": [
            {"programme": r.programme, "specific": r.specific, "months": [
                {k: str(v) if not isinstance(v, int) else v for k, v in c.items()} for c in r.month_cells()]}
            for r in report.rows]})


class PaymentInput(serializers.Serializer):
    contract = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    number = serializers.CharField(max_length=60)
    date = serializers.DateField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    kind = serializers.ChoiceField(choices=PaymentKind.choices, default=PaymentKind.SETTLEMENT)


class PaymentsView(APIView):
    """POST a treasury payment order under a contract; 422 with the ФЛК rule on refusal."""

    permission_classes = AUTH
    capabilities = {"POST": Capability.EDIT_FINANCING}

    @extend_schema(request=PaymentInput, responses={201: OpenApiTypes.OBJECT})
    def post(self, request):
        body = PaymentInput(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        institution = current_institution(request)
        contract = Contract.objects.filter(institution=institution, pk=d["contract"]).first()
        if contract is None:
            return Response({"code": "not_found", "message": _("Not found.")}, status=404)
        payment = services.make_payment(contract=contract, actor=request.user, number=d["number"], date=d["date"],
                                        amount=d["amount"], kind=d["kind"], request=request)
        return Response({"id": payment.id, "entry_id": payment.entry_id}, status=status.HTTP_201_CREATED)
