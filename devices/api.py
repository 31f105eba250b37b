"""Scanner API (/api/v1/devices/).

Devices authenticate with `Authorization: Device <token>`; people with their session or
`Token`. A device sees only its own record and sends scans; people with inventory.view read
the registry and the scans of their institution, with inventory.edit manage devices and upload
batch files.
"""

import datetime as dt

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import authentication, exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from access.api import HasCapability, TenantScoped
from access.errors import ControlError
from access.roles import Capability

from . import batch, services
from .models import Device, Scan, Source

SCANS_PER_REQUEST = 500


class DeviceAuthentication(authentication.BaseAuthentication):
    keyword = "Device"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid device token header."))
        device = services.device_for_token(header[1].decode("ascii", "replace"))
        if device is None:
            raise exceptions.AuthenticationFailed(_("Unknown or revoked device token."))
        # request.user stays anonymous: a device is no person, has no roles and must not pass
        # for one anywhere (the access gates and the journal read request.user); the device
        # is request.auth.
        return AnonymousUser(), device

    def authenticate_header(self, request):
        return self.keyword


class DeviceAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "devices.api.DeviceAuthentication"
    name = "deviceToken"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Device <token>`: the token issued for the scanner in the registry"}


class IsDevice(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, Device)


class DeviceSerializer(serializers.ModelSerializer):
    active = serializers.BooleanField(read_only=True)

    class Meta:
        model = Device
        fields = ["id", "label", "kind", "port", "baud", "parity", "prefix", "suffix", "terminator", "codepage",
                  "active", "token_issued_at", "revoked_at"]
        read_only_fields = ["token_issued_at", "revoked_at"]


class DeviceViewSet(TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                    mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """The institution's scanners. Creating one or issuing a token answers the token once."""

    serializer_class = DeviceSerializer
    queryset = Device.objects.all()
    permission_classes = [permissions.IsAuthenticated, HasCapability]
    capabilities = {"GET": Capability.VIEW_INVENTORY, "POST": Capability.EDIT_INVENTORY,
                    "PUT": Capability.EDIT_INVENTORY, "PATCH": Capability.EDIT_INVENTORY}

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        device, token = services.create_device(actor=request.user, institution=self.institution,
                                               label=data.pop("label"), request=request, **data)
        return Response({**DeviceSerializer(device).data, "token": token}, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        device = self.get_object()
        serializer = self.get_serializer(device, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        services.update_device(actor=request.user, device=device, request=request, **serializer.validated_data)
        return Response(DeviceSerializer(device).data)

    @action(detail=True, methods=["post"])
    def token(self, request, pk=None):
        device = self.get_object()
        token = services.issue_token(actor=request.user, device=device, request=request)
        return Response({**DeviceSerializer(device).data, "token": token})

    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        device = self.get_object()
        services.revoke_token(actor=request.user, device=device, request=request)
        return Response(DeviceSerializer(device).data)


class DeviceMe(APIView):
    """The calling device's own record: the agent takes its port settings from here."""

    authentication_classes = [DeviceAuthentication]
    permission_classes = [IsDevice]

    @extend_schema(responses=DeviceSerializer)
    def get(self, request):
        device = request.auth
        return Response({**DeviceSerializer(device).data, "institution": device.institution.bin})


def _int(value, name: str, *, required: bool = False) -> int | None:
    if value in (None, ""):
        if required:
            raise ControlError("required", _("%(field)s is required.") % {"field": name}, field=name)
        return None
    if isinstance(value, bool) or not str(value).lstrip("-").isdigit() or int(value) <= 0:
        raise ControlError("integer", _("%(field)s must be a positive whole number.") % {"field": name},
                           field=name, value=value)
    return int(value)


def _moment(value) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = parse_datetime(str(value))
    except ValueError:
        return None
    if moment is None:
        return None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


class ScanIntake(APIView):
    """POST scans of one device: `{"device": 7, "scans": [{"seq": 1, "raw": "…", "partial": false,
    "noise": false, "scanned_at": "…", "location": 3, "count": 1}, …]}` (or a single scan's fields
    at the top level). Answers 200 with one result per scan, in order: its status (found, repeated,
    other_location, unknown, other_institution, count_closed, no_count, noise, partial,
    bad_check_digit, error, or rejected for a malformed item), the message, and `duplicate`
    when (device, seq) was already stored. A resend therefore answers the first outcome."""

    authentication_classes = [DeviceAuthentication]
    permission_classes = [IsDevice]
    parser_classes = [JSONParser]

    @extend_schema(
        request=inline_serializer("ScanBatch", {
            "device": serializers.IntegerField(required=False),
            "scans": serializers.ListField(child=inline_serializer("ScanItem", {
                "seq": serializers.IntegerField(min_value=1), "raw": serializers.CharField(allow_blank=True),
                "partial": serializers.BooleanField(required=False), "noise": serializers.BooleanField(required=False),
                "scanned_at": serializers.DateTimeField(required=False),
                "location": serializers.IntegerField(required=False, allow_null=True),
                "count": serializers.IntegerField(required=False, allow_null=True)}), max_length=SCANS_PER_REQUEST)}),
        responses=inline_serializer("ScanResults", {
            "device": serializers.IntegerField(),
            "results": serializers.ListField(child=serializers.DictField())}))
    def post(self, request):
        device: Device = request.auth
        data = request.data if isinstance(request.data, dict) else {}
        claimed = data.get("device")
        if claimed is not None and str(claimed) != str(device.pk):
            raise exceptions.PermissionDenied(_("The token belongs to another device."))
        items = data.get("scans")
        if items is None:
            items = [data]
        if not isinstance(items, list) or len(items) > SCANS_PER_REQUEST:
            raise ControlError("scans", _("Send a list of at most %(n)s scans.") % {"n": SCANS_PER_REQUEST},
                               field="scans")
        results = []
        for item in items:
            if not isinstance(item, dict):
                results.append({"seq": None, "status": "rejected", "message": _("A scan must be an object.")})
                continue
            try:
                seq = _int(item.get("seq"), "seq", required=True)
                location = _int(item.get("location"), "location")
                count = _int(item.get("count"), "count")
                raw = item.get("raw", item.get("code", ""))
                if not isinstance(raw, str):
                    raise ControlError("raw", _("raw must be text."), field="raw")
            except ControlError as exc:
                results.append({"seq": item.get("seq"), "status": "rejected", "message": str(exc.message),
                                "field": exc.field})
                continue
            answer = services.record(
                institution=device.institution, source=Source.AGENT, raw=raw, partial=bool(item.get("partial")),
                noise=bool(item.get("noise")), device=device, seq=seq, count_id=count, location_id=location,
                scanned_at=_moment(item.get("scanned_at")))
            results.append(answer.as_dict())
        return Response({"device": device.pk, "results": results})


class ScanSerializer(serializers.ModelSerializer):
    reviewed = serializers.SerializerMethodField()

    class Meta:
        model = Scan
        fields = ["id", "device", "seq", "ref", "source", "raw", "code", "count_id", "location_id", "flag",
                  "message", "asset_id", "scanned_at", "received_at", "batch", "reviewed"]

    def get_reviewed(self, scan) -> bool:
        return hasattr(scan, "review")


class ScanViewSet(TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Scans of the institution, newest first; `?flag=unknown` etc., `?review=1` for the flagged ones."""

    serializer_class = ScanSerializer
    queryset = Scan.objects.select_related("review").all()
    permission_classes = [permissions.IsAuthenticated, HasCapability]
    capabilities = {"GET": Capability.VIEW_INVENTORY}
    filterset_fields = ["flag", "device", "count_id", "source"]

    def get_queryset(self):
        from .models import REVIEW_FLAGS

        qs = super().get_queryset()
        if self.request.query_params.get("review"):
            qs = qs.filter(flag__in=REVIEW_FLAGS, review__isnull=True)
        return qs


class BatchUpload(APIView):
    """POST multipart `file` (CSV or TXT dump, docs/exchange/scanner-batch.md), `count`, optional
    `device` (a batch terminal). All or nothing: 201 with the outcome counts, or 422 with every
    problem (sheet, row, column, value, rule, message) and nothing recorded."""

    permission_classes = [permissions.IsAuthenticated, HasCapability]
    capabilities = {"POST": Capability.EDIT_INVENTORY}
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": inline_serializer("BatchFileUpload", {
            "file": serializers.FileField(), "count": serializers.IntegerField(),
            "device": serializers.IntegerField(required=False)})},
        responses={201: inline_serializer("BatchFileLoaded", {
            "id": serializers.IntegerField(), "name": serializers.CharField(), "rows": serializers.IntegerField(),
            "count": serializers.IntegerField(), "outcomes": serializers.DictField(child=serializers.IntegerField())})})
    def post(self, request):
        from access.middleware import current_institution

        institution = current_institution(request)
        upload = request.FILES.get("file")
        if upload is None:
            raise ControlError("required", _("Choose a file."), field="file")
        device_id = _int(request.data.get("device"), "device")
        device = None
        if device_id is not None:
            device = Device.objects.filter(institution=institution, pk=device_id).first()
            if device is None:
                raise exceptions.NotFound()
        count_id = _int(request.data.get("count"), "count", required=True)
        result = batch.upload(actor=request.user, institution=institution, device=device, count_id=count_id,
                              name=upload.name, content=upload.read(), request=request)
        return Response(result.as_dict(), status=status.HTTP_201_CREATED)
