"""Inventory API under /api/v1/inventory/: the register and the counts, read-only, scoped to the
request's institution (another tenant's asset or count is a 404). Scans come in through the
devices API (devices/), which calls inventory.counting."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from access.api import HasCapability, TenantScoped
from access.errors import ControlError
from access.middleware import current_institution
from access.roles import Capability

from . import counting, esf
from .models import Asset, InventoryCount


class AssetSerializer(serializers.ModelSerializer):
    location = serializers.CharField(source="location.code")
    responsible = serializers.CharField(source="responsible.full_name")
    grant = serializers.SerializerMethodField()

    class Meta:
        model = Asset
        fields = ["id", "inventory_number", "name", "classifier_code", "kind", "account", "specific", "administrator",
                  "programme", "subprogramme", "funding_source", "grant", "location", "responsible", "quantity",
                  "unit", "cost", "accumulated_depreciation", "acquired_on", "barcode", "status"]

    def get_grant(self, asset) -> dict | None:
        if asset.grant is None:
            return None
        return {"donor": asset.grant.donor, "agreement_number": asset.grant.agreement_number,
                "agreement_date": asset.grant.agreement_date.isoformat()}


class AssetViewSet(TenantScoped, viewsets.ReadOnlyModelViewSet):
    serializer_class = AssetSerializer
    queryset = Asset.objects.select_related("location", "responsible", "grant").order_by("inventory_number")
    permission_classes = [permissions.IsAuthenticated, HasCapability]
    capabilities = {"GET": Capability.VIEW_INVENTORY}
    filterset_fields = ["status", "account", "location", "responsible", "barcode", "inventory_number"]


class CountSerializer(serializers.ModelSerializer):
    class Meta:
        model = InventoryCount
        fields = ["id", "number", "order_date", "count_date", "chairman", "members", "status", "scope_locations",
                  "scope_responsible", "scope_accounts", "started_at", "closed_at", "approved_at", "entry_ids"]


class ProgressSerializer(serializers.Serializer):
    location_id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    expected = serializers.IntegerField()
    found = serializers.IntegerField()
    percent = serializers.IntegerField()
    found_elsewhere = serializers.IntegerField()
    unknown = serializers.IntegerField()
    repeated = serializers.IntegerField()


class CountViewSet(TenantScoped, viewsets.ReadOnlyModelViewSet):
    serializer_class = CountSerializer
    queryset = InventoryCount.objects.order_by("-count_date", "-id")
    permission_classes = [permissions.IsAuthenticated, HasCapability]
    capabilities = {"GET": Capability.VIEW_INVENTORY}
    filterset_fields = ["status"]

    @extend_schema(responses=ProgressSerializer(many=True))
    @action(detail=True)
    def progress(self, request, pk=None):
        """Found / expected items per location of the count's book."""
        return Response(ProgressSerializer(counting.count_progress(self.get_object()), many=True).data)


class EsfImportInput(serializers.Serializer):
    file = serializers.FileField()
    account = serializers.RegexField(r"^[0-9]{4}$")
    specific = serializers.RegexField(r"^[0-9]{3}$")
    location = serializers.IntegerField()
    responsible = serializers.IntegerField()
    programme = serializers.RegexField(r"^[0-9]{3}$")
    subprogramme = serializers.RegexField(r"^[0-9]{3}$")
    funding_source = serializers.CharField(default="budget_local")
    grant = serializers.IntegerField(required=False, allow_null=True)


class EsfImportView(APIView):
    """Receive the goods of an e-invoice file (ЭСФ XML, docs/exchange/esf-invoice.md) on the
    account, location and МОЛ given. All-or-nothing: 422 with every problem of the file."""

    parser_classes = [MultiPartParser]
    permission_classes = [permissions.IsAuthenticated, HasCapability]
    capabilities = {"POST": Capability.EDIT_INVENTORY}

    @extend_schema(request=EsfImportInput, responses=AssetSerializer(many=True))
    def post(self, request):
        data = EsfImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        upload = v["file"]
        if upload.size > esf.FILE_BYTES_MAX:
            raise ControlError("file_too_large", _("The file is too large."), field="file")
        assets = esf.import_esf(
            institution=current_institution(request), actor=request.user, data=upload.read(), account=v["account"],
            specific=v["specific"], location_id=v["location"], responsible_id=v["responsible"],
            programme=v["programme"], subprogramme=v["subprogramme"], funding_source=v["funding_source"],
            grant_id=v.get("grant"), request=request)
        return Response(AssetSerializer(Asset.objects.filter(pk__in=[a.pk for a in assets])
                                        .select_related("location", "responsible", "grant"), many=True).data,
                        status=status.HTTP_201_CREATED)
