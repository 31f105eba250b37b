"""Payroll API: employees, runs (start, post), advances. Scoped to the request's institution;
refused controls answer 422 with the rule code (esep/api.py)."""

import datetime as dt

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from access.api import HasCapability, TenantScoped
from access.roles import Capability

from . import services
from .models import Advance, Employee, PayrollRun


class EmployeeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Employee
        fields = ["id", "personnel_number", "iin", "full_name_kk", "full_name_ru", "position_code", "rate",
                  "contract", "hired_on", "transferred_on", "dismissed_on", "resident", "pensioner",
                  "disability_group", "foreign_national", "iban"]


class DismissSerializer(serializers.Serializer):
    on = serializers.DateField(required=False)


class EmployeeViewSet(TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Employee.objects.order_by("personnel_number")
    serializer_class = EmployeeSerializer
    permission_classes = [HasCapability]
    capabilities = {"GET": Capability.VIEW_PAYROLL, "POST": Capability.EDIT_PAYROLL}

    @extend_schema(request=None, responses=EmployeeSerializer)
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        employee = self.get_object()
        data = DismissSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        on = data.validated_data.get("on") or dt.date.today()
        employee = services.dismiss_employee(employee=employee, actor=request.user, on=on, request=request)
        return Response(EmployeeSerializer(employee).data)


class RunSerializer(serializers.ModelSerializer):
    class Meta:
        model = PayrollRun
        fields = ["id", "year", "month", "status", "progress_done", "progress_total", "error", "calculated_at",
                  "posted_at", "entry_ids", "totals", "recalculations"]


class StartSerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    month = serializers.IntegerField(min_value=1, max_value=12)


class RunViewSet(TenantScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = PayrollRun.objects.all()
    serializer_class = RunSerializer
    permission_classes = [HasCapability]
    capabilities = {"GET": Capability.VIEW_PAYROLL, "POST": Capability.EDIT_PAYROLL}

    @extend_schema(request=StartSerializer, responses={202: RunSerializer})
    def create(self, request):
        data = StartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.start_run(institution=self.institution, actor=request.user, request=request,
                                 **data.validated_data)
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=RunSerializer)
    @action(detail=True, methods=["post"], url_path="post")
    def post_run(self, request, pk=None):
        run = self.get_object()
        entries = services.post_run(run=run, actor=request.user, request=request)
        run.refresh_from_db()
        return Response({**RunSerializer(run).data, "posted_entries": [e.pk for e in entries]})


class AdvanceSerializer(serializers.ModelSerializer):
    employee = serializers.IntegerField(source="employee_id")
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    month = serializers.IntegerField(min_value=1, max_value=12)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, min_value=0)

    class Meta:
        model = Advance
        fields = ["id", "employee", "year", "month", "amount", "paid_on", "entry_id"]
        read_only_fields = ["id", "entry_id"]


class AdvanceViewSet(TenantScoped, mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    queryset = Advance.objects.order_by("-id")
    serializer_class = AdvanceSerializer
    permission_classes = [HasCapability]
    capabilities = {"GET": Capability.VIEW_PAYROLL, "POST": Capability.EDIT_PAYROLL}

    def create(self, request):
        data = AdvanceSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        employee = Employee.objects.filter(institution=self.institution, pk=values["employee_id"]).first()
        if employee is None:
            return Response({"code": "not_found", "field": "employee"}, status=status.HTTP_404_NOT_FOUND)
        advance = services.pay_advance(employee=employee, actor=request.user, year=values["year"],
                                       month=values["month"], amount=values["amount"], paid_on=values["paid_on"],
                                       request=request)
        return Response(AdvanceSerializer(advance).data, status=status.HTTP_201_CREATED)
