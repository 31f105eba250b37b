"""ФЛК pages: the catalogue with what is in force for the current institution on a date, a
control's page with its history and (administrator) the switch and parameter forms, the
violation journal. Permissions mirror rules/api.py: any member reads the catalogue, the
institution's administrator (reference.edit) switches and tunes, the action-journal
capability (chief accountant, auditor, administrator) reads the violations. Writes go
through rules.services only.
"""

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from access.errors import ControlError, PermissionRefused
from access.models import Action
from access.roles import Capability, capabilities_of
from access.services import roles_in
from ledger.views import PAGE_SIZE, _institution, _need, _viewed

from . import engine, services
from .api import describe
from .forms import (
    SCOPE_LABELS,
    SEVERITY_LABELS,
    SOURCE_LABELS,
    DateForm,
    ParameterForm,
    SwitchForm,
    ViolationFilterForm,
)
from .models import RuleParameter, RuleSwitch, Violation
from .texts import localized, message

HISTORY_MAX = 200  # rows of a control's switch and parameter history shown


def _pretty(facts) -> str:
    """The facts as JSON, one head fact a line and one item of a collection (a line of an
    entry) a line: readable, and a 50-line entry stays 50 lines."""
    if not isinstance(facts, dict):
        return json.dumps(facts, ensure_ascii=False, indent=2)
    rows = []
    for key in sorted(facts):
        value = facts[key]
        if isinstance(value, list) and value:
            items = ",\n".join("    " + json.dumps(v, ensure_ascii=False, sort_keys=True) for v in value)
            rows.append(f"  {json.dumps(key, ensure_ascii=False)}: [\n{items}\n  ]")
        else:
            rows.append(f"  {json.dumps(key, ensure_ascii=False)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(rows) + "\n}"


def _member(request):
    """The current institution if the user holds any role there (the API's read rule)."""
    institution = _institution(request)
    if not roles_in(request.user, institution):
        raise PermissionDenied(_("Your role in this institution does not allow this."))
    return institution


def _on_date(request):
    """The date asked for (?date=YYYY-MM-DD), today by default."""
    form = DateForm(request.GET or None, initial={"date": timezone.localdate()})
    day = form.cleaned_data["date"] if form.is_valid() and form.cleaned_data["date"] else None
    return form, day or timezone.localdate()


def _labelled(described: dict) -> dict:
    described["scope_label"] = SCOPE_LABELS.get(described["scope"], described["scope"])
    described["severity_label"] = SEVERITY_LABELS.get(described["severity"], described["severity"])
    described["enabled_source_label"] = SOURCE_LABELS.get(described["enabled_source"], "")
    for p in described["parameters"]:
        p["source_label"] = SOURCE_LABELS.get(p["source"], p["source"])
    if not described["switchable"]:
        described["not_switchable"] = message("rule_not_switchable", code=described["code"])
    return described


@require_GET
def catalogue(request):
    institution = _member(request)
    form, day = _on_date(request)
    rules = [_labelled(describe(rule, institution.id, day)) for rule in engine.default().catalogue.rules]
    return render(request, "rules/catalogue.html", {"form": form, "day": day, "rules": rules})


def _apply(form, error: ControlError) -> None:
    """Put each refusal next to the field it concerns (or above the form)."""
    for one in getattr(error, "errors", None) or [error]:
        form.add_error(one.field if one.field in form.fields else None, str(one.message))


def rule_detail(request, code: str):
    institution = _member(request)
    rule = engine.default().catalogue.get(code)
    if rule is None:
        raise Http404
    may_edit = Capability.EDIT_REFERENCE in capabilities_of(roles_in(request.user, institution))
    date_form, day = _on_date(request)
    switch_form = SwitchForm() if rule.switchable else None
    parameter_form = ParameterForm(rule=rule) if rule.parameters else None
    status = 200
    if request.method == "POST":
        which = request.POST.get("form")
        object_type = "rule_parameter" if which == "parameter" else "rule_switch"
        _need(request, Capability.EDIT_REFERENCE, action=Action.EDIT, object_type=object_type)
        done = None
        try:
            if which == "parameter" and rule.parameters:
                parameter_form = ParameterForm(request.POST, rule=rule)
                if parameter_form.is_valid():
                    data = parameter_form.cleaned_data
                    try:
                        row = services.set_parameter(
                            actor=request.user, institution=institution, rule_code=rule.code, name=data["name"],
                            value=data["value"].strip().replace(" ", "").replace("\xa0", ""),
                            valid_from=data["valid_from"], valid_to=data["valid_to"], reason=data["reason"],
                            request=request)
                    except ControlError as error:
                        if isinstance(error, PermissionRefused):
                            raise
                        _apply(parameter_form, error)
                    else:
                        done = _("%(code)s: %(name)s = %(value)s from %(date)s.") % {
                            "code": rule.code, "name": row.name, "value": int(row.value),
                            "date": row.valid_from.strftime("%d.%m.%Y")}
            elif which == "switch" and rule.switchable:
                switch_form = SwitchForm(request.POST)
                if switch_form.is_valid():
                    data = switch_form.cleaned_data
                    try:
                        row = services.switch_rule(actor=request.user, institution=institution,
                                                   rule_code=rule.code, enabled=data["enabled"],
                                                   reason=data["reason"], valid_from=data["valid_from"],
                                                   request=request)
                    except ControlError as error:
                        if isinstance(error, PermissionRefused):
                            raise
                        _apply(switch_form, error)
                    else:
                        done = (_("%(code)s is switched on from %(date)s.") if row.enabled
                                else _("%(code)s is switched off from %(date)s.")) % {
                            "code": rule.code, "date": row.valid_from.strftime("%d.%m.%Y")}
            elif which == "switch":
                # FLC-PER-001 or FLC-LED-001: no form offers a switch, the service says why.
                try:
                    services.switch_rule(actor=request.user, institution=institution, rule_code=rule.code,
                                         enabled=False, reason=request.POST.get("switch-reason", ""),
                                         request=request)
                except ControlError as error:
                    if isinstance(error, PermissionRefused):
                        raise
                    messages.error(request, str(error.message))
        except PermissionRefused as refused:
            raise PermissionDenied(str(refused.message)) from None
        if done:
            messages.success(request, done)
            return redirect(reverse("rule_detail", args=[rule.code]))
        status = 422
    described = _labelled(describe(rule, institution.id, day))
    scope = Q(institution=institution) | Q(institution__isnull=True)
    switches = (RuleSwitch.objects.filter(scope, rule_code=rule.code).select_related("actor")
                .order_by("-at", "-id")[:HISTORY_MAX])
    values = (RuleParameter.objects.filter(scope, rule_code=rule.code).select_related("set_by")
              .order_by("-set_at", "-id")[:HISTORY_MAX])
    return render(request, "rules/rule_detail.html", {
        "rule": described, "form": date_form, "day": day, "may_edit": may_edit,
        "switch_form": switch_form, "parameter_form": parameter_form, "switches": switches, "values": values,
    }, status=status)


@require_GET
def violations(request):
    institution = _need(request, Capability.VIEW_JOURNAL, object_type="violations")
    catalogue_ = engine.default().catalogue
    form = ViolationFilterForm(request.GET or None, codes=[r.code for r in catalogue_.rules])
    qs = Violation.objects.filter(institution_id=institution.id)
    if form.is_valid():
        data = form.cleaned_data
        if data["rule"]:
            qs = qs.filter(rule_code=data["rule"])
        if data["outcome"]:
            qs = qs.filter(outcome=data["outcome"])
        if data["date_from"]:
            qs = qs.filter(at__date__gte=data["date_from"])
        if data["date_to"]:
            qs = qs.filter(at__date__lte=data["date_to"])
        if data["full_name"]:
            qs = qs.filter(user_full_name__icontains=data["full_name"].strip())
    page = Paginator(qs.order_by("-at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for row in page.object_list:
        rule = catalogue_.get(row.rule_code)
        row.title = localized(rule.title) if rule else ""
        row.facts_json = _pretty(row.facts)
        row.parameters_json = json.dumps(row.parameters, ensure_ascii=False, sort_keys=True) if row.parameters \
            else ""
    _viewed(request, institution, "violations", details=urlencode(sorted(request.GET.items()))[:500])
    return render(request, "rules/violations.html", {"form": form, "page": page})
