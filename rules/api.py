"""ФЛК API under /api/v1/rules/: the catalogue with what is in force for the current
institution on a date, switches and parameters (administrator), the violation journal
(chief accountant, auditor, administrator). Thin views: parse, scope to the tenant, call
rules.services."""

import datetime as dt

import django_filters
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from access.api import HasCapability, TenantScoped
from access.middleware import current_institution
from access.roles import Capability
from access.services import roles_in

from . import engine, parameters, services
from .catalogue import Rule
from .models import RuleParameter, RuleSwitch, Violation
from .texts import localized


class MemberReadsCapabilityWrites(HasCapability):
    """Reads: any role in the request's institution (a payroll clerk reads the controls that
    may stop her). Writes: the capability the view names, as HasCapability."""

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS and request.method not in view.capabilities:
            return bool(roles_in(request.user, current_institution(request)))
        return super().has_permission(request, view)


READ_MEMBER_WRITE_ADMIN = [permissions.IsAuthenticated, MemberReadsCapabilityWrites]
DATE_PARAMETER = OpenApiParameter("date", str, description="YYYY-MM-DD; default today")


def _date(request, key: str = "date") -> dt.date:
    raw = request.query_params.get(key)
    if not raw:
        return timezone.localdate()
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({key: "YYYY-MM-DD"}) from None


def describe(rule: Rule, institution_id: int, on_date: dt.date) -> dict:
    """A control as the catalogue page shows it: texts, and what is in force on the date."""
    snap = parameters.snapshot()
    switch = parameters.switch(rule, institution_id, on_date, snap)
    params = []
    for p in rule.parameters:
        effective = parameters.parameter(rule, p.name, institution_id, on_date, snap)
        params.append({
            "name": p.name, "type": p.type, "default": p.default, "min": p.min, "max": p.max,
            "value": effective.value, "source": effective.source,
            "valid_from": effective.row.valid_from if effective.row else None,
            "valid_to": effective.row.valid_to if effective.row else None,
            "description": localized(p.description), "descriptions": dict(p.description),
        })
    return {
        "code": rule.code, "title": localized(rule.title), "titles": dict(rule.title),
        "description": localized(rule.description), "descriptions": dict(rule.description),
        "severity": rule.severity, "scope": rule.scope, "requirement": rule.requirement, "source": rule.source,
        "date": on_date, "enabled": switch.enabled, "enabled_source": switch.source, "switchable": rule.switchable,
        "switch": ({"valid_from": switch.row.valid_from, "reason": switch.row.reason,
                    "actor": switch.row.actor_id, "at": switch.row.at} if switch.row else None),
        "parameters": params,
        "facts": [{"name": f.name, "type": f.type, "of": f.of, "values": list(f.values),
                   "description": f.description} for f in rule.facts],
    }


class RuleParameterOut(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField()
    default = serializers.IntegerField()
    min = serializers.IntegerField()
    max = serializers.IntegerField()
    value = serializers.IntegerField()
    source = serializers.ChoiceField(choices=["default", "deployment", "institution"])
    valid_from = serializers.DateField(allow_null=True)
    valid_to = serializers.DateField(allow_null=True)
    description = serializers.CharField()
    descriptions = serializers.DictField(child=serializers.CharField())


class RuleOut(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    titles = serializers.DictField(child=serializers.CharField())
    description = serializers.CharField()
    descriptions = serializers.DictField(child=serializers.CharField())
    severity = serializers.ChoiceField(choices=["block", "warn"])
    scope = serializers.CharField()
    requirement = serializers.CharField()
    source = serializers.CharField()
    date = serializers.DateField()
    enabled = serializers.BooleanField()
    enabled_source = serializers.CharField()
    switchable = serializers.BooleanField()
    switch = serializers.DictField(allow_null=True)
    parameters = RuleParameterOut(many=True)
    facts = serializers.ListField(child=serializers.DictField())


class CatalogueViewSet(viewsets.ViewSet):
    """The ФЛК catalogue: every control, its description, and whether it is on and with which
    parameter values for the current institution on `date`."""

    permission_classes = READ_MEMBER_WRITE_ADMIN
    capabilities: dict = {}
    lookup_value_regex = "FLC-[A-Z]{3}-[0-9]{3}"

    def _institution(self):
        institution = current_institution(self.request)
        if institution is None:
            raise NotFound()
        return institution

    @extend_schema(parameters=[DATE_PARAMETER], responses=RuleOut(many=True))
    def list(self, request):
        institution = self._institution()
        on_date = _date(request)
        rules = engine.default().catalogue.rules
        scope = request.query_params.get("scope")
        if scope:
            rules = [r for r in rules if r.scope == scope]
        return Response([describe(rule, institution.id, on_date) for rule in rules])

    @extend_schema(parameters=[DATE_PARAMETER], responses=RuleOut)
    def retrieve(self, request, pk=None):
        institution = self._institution()
        rule = engine.default().catalogue.get(pk)
        if rule is None:
            raise NotFound()
        return Response(describe(rule, institution.id, _date(request)))


class RuleSwitchSerializer(serializers.ModelSerializer):
    rule = serializers.CharField(source="rule_code")

    class Meta:
        model = RuleSwitch
        fields = ["id", "rule", "enabled", "valid_from", "reason", "actor", "at", "institution"]
        read_only_fields = ["id", "actor", "at", "institution"]
        extra_kwargs = {"valid_from": {"required": False}}


class RuleSwitchViewSet(TenantScoped, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Switch a control on or off for the current institution from a date, with a reason
    (journaled). GET lists the institution's switches, newest first."""

    queryset = RuleSwitch.objects.all().order_by("-at", "-id")
    serializer_class = RuleSwitchSerializer
    permission_classes = READ_MEMBER_WRITE_ADMIN
    capabilities = {"POST": Capability.EDIT_REFERENCE}
    filterset_fields = ["rule_code", "enabled"]

    def create(self, request, *args, **kwargs):
        data = RuleSwitchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        row = services.switch_rule(actor=request.user, institution=self.institution, rule_code=values["rule_code"],
                                   enabled=values["enabled"], reason=values["reason"],
                                   valid_from=values.get("valid_from"), request=request)
        return Response(RuleSwitchSerializer(row).data, status=status.HTTP_201_CREATED)


class RuleParameterSerializer(serializers.ModelSerializer):
    rule = serializers.CharField(source="rule_code")
    value = serializers.DecimalField(max_digits=20, decimal_places=2, coerce_to_string=False)

    class Meta:
        model = RuleParameter
        fields = ["id", "rule", "name", "value", "valid_from", "valid_to", "reason", "set_by", "set_at",
                  "institution"]
        read_only_fields = ["id", "set_by", "set_at", "institution"]


class RuleParameterViewSet(TenantScoped, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Dated parameter values of the current institution (the catalogue endpoint shows the
    value in force on a date, falling back to the deployment's and the default). POST sets
    a value from a date, with a reason (journaled)."""

    queryset = RuleParameter.objects.all().order_by("rule_code", "name", "-valid_from", "-id")
    serializer_class = RuleParameterSerializer
    permission_classes = READ_MEMBER_WRITE_ADMIN
    capabilities = {"POST": Capability.EDIT_REFERENCE}
    filterset_fields = ["rule_code", "name"]

    def create(self, request, *args, **kwargs):
        data = RuleParameterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        row = services.set_parameter(
            actor=request.user, institution=self.institution, rule_code=values["rule_code"], name=values["name"],
            value=values["value"], valid_from=values["valid_from"], valid_to=values.get("valid_to"),
            reason=values["reason"], request=request,
        )
        return Response(RuleParameterSerializer(row).data, status=status.HTTP_201_CREATED)


class ViolationSerializer(serializers.ModelSerializer):
    rule = serializers.CharField(source="rule_code")
    text = serializers.CharField()

    class Meta:
        model = Violation
        fields = ["id", "attempt", "rule", "condition", "severity", "outcome", "scope", "user", "user_full_name",
                  "at", "on_date", "field", "fact", "text", "message", "facts", "parameters"]


class ViolationFilter(django_filters.FilterSet):
    rule = django_filters.CharFilter(field_name="rule_code")
    date_from = django_filters.DateFilter(field_name="at", lookup_expr="date__gte")
    date_to = django_filters.DateFilter(field_name="at", lookup_expr="date__lte")
    full_name = django_filters.CharFilter(field_name="user_full_name", lookup_expr="icontains")

    class Meta:
        model = Violation
        fields = ["rule", "outcome", "scope", "user", "date_from", "date_to", "full_name", "attempt"]


class ViolationViewSet(TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The violation journal of the current institution, newest first: every blocked attempt
    and every warning, with the facts the control saw."""

    queryset = Violation.objects.all().order_by("-at", "-id")
    serializer_class = ViolationSerializer
    permission_classes = [permissions.IsAuthenticated, HasCapability]
    capabilities = {"GET": Capability.VIEW_JOURNAL}
    filterset_class = ViolationFilter
