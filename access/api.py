"""API plumbing shared by the apps: tenant scoping and capability checks, plus the access
endpoints (my institutions, the action journal)."""

import django_filters
from rest_framework import mixins, permissions, serializers, viewsets

from .middleware import current_institution, institutions_of
from .models import Action, ActionLog, Institution, Outcome
from .roles import Capability, capabilities_of
from .services import log_action, roles_in


class HasCapability(permissions.BasePermission):
    """The view names the capability each HTTP method needs (`capabilities = {"GET": …}`);
    the user must hold it in the request's institution. Unsafe methods without an entry are
    refused, so a new write endpoint is closed until someone decides who may use it."""

    def has_permission(self, request, view):
        capabilities = getattr(view, "capabilities", None)
        if capabilities is None:
            return request.method in permissions.SAFE_METHODS
        needed = capabilities.get(request.method) or capabilities.get("*")
        if needed is None:
            return False
        institution = current_institution(request)
        if needed in capabilities_of(roles_in(request.user, institution)):
            return True
        if request.user.is_authenticated:
            log_action(actor=request.user, action=Action.VIEW if request.method in permissions.SAFE_METHODS
                       else Action.EDIT, outcome=Outcome.REFUSED, request=request, institution=institution,
                       object_type=request.path[:100], details=f"{request.method} needs {needed}")
        return False


class TenantScoped:
    """Querysets see only the request's institution: another tenant's object is a 404."""

    tenant_field = "institution"

    @property
    def institution(self):
        return current_institution(self.request)

    def get_queryset(self):
        institution = self.institution
        qs = super().get_queryset()
        if institution is None:
            return qs.none()
        return qs.filter(**{self.tenant_field: institution})


class InstitutionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Institution
        fields = ["id", "bin", "name_kk", "name_ru", "parent", "budget_level", "region", "administrator_code",
                  "is_block_budget_pilot"]


class InstitutionViewSet(viewsets.ReadOnlyModelViewSet):
    """The institutions the user works in (choose one with the X-Institution header)."""

    serializer_class = InstitutionSerializer
    queryset = Institution.objects.none()

    def get_queryset(self):
        return institutions_of(self.request.user)


class ActionLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActionLog
        fields = ["seq", "at", "username", "full_name", "iin", "role", "institution", "ip", "action",
                  "object_type", "object_id", "outcome", "details", "hash"]


class ActionLogFilter(django_filters.FilterSet):
    at_from = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="gte")
    at_to = django_filters.IsoDateTimeFilter(field_name="at", lookup_expr="lte")
    full_name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = ActionLog
        fields = ["action", "outcome", "iin", "user", "object_type", "object_id"]


class ActionLogViewSet(TenantScoped, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The action journal of the current institution (R4), newest first."""

    serializer_class = ActionLogSerializer
    queryset = ActionLog.objects.all().order_by("-seq")
    permission_classes = [permissions.IsAuthenticated, HasCapability]
    capabilities = {"GET": Capability.VIEW_JOURNAL}
    filterset_class = ActionLogFilter
