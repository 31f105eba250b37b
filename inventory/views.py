"""Inventory pages. Thin: parse the POST, check the capability, call a service, render.
Every object is fetched within the current institution, so another tenant's asset or count
is a 404. Service refusals come back as messages naming the field."""

import datetime as dt
from decimal import Decimal, InvalidOperation
from functools import partial

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from access.errors import ControlError
from access.models import Action
from access.pages import need_capability
from access.roles import Capability, capabilities_of
from access.services import log_action, roles_in
from esep.imports import ImportRefused
from ledger.models import Counterparty

from . import counting, esf, labels, services, statements
from .models import (
    Asset,
    AssetStatus,
    CountStatus,
    DepreciationRun,
    InventoryCount,
    Location,
    ResponsiblePerson,
    ShortageDecision,
    TiedGrant,
)

PAGE_SIZE = 50
FILE_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


_need = partial(need_capability, object_type="inventory")


def _can(request, institution) -> frozenset[str]:
    return capabilities_of(roles_in(request.user, institution))


def _errors(request, error: ControlError) -> None:
    for one in getattr(error, "errors", None) or [error]:
        prefix = f"{one.field}: " if one.field else ""
        messages.error(request, prefix + str(one.message))


def _date(value, default=None):
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return None


def _decimal(value):
    try:
        return Decimal((value or "").replace(" ", "").replace(",", "."))
    except InvalidOperation:
        return None


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _choices(institution) -> dict:
    return {"locations": Location.objects.filter(institution=institution),
            "persons": ResponsiblePerson.objects.filter(institution=institution),
            "grants": TiedGrant.objects.filter(institution=institution)}


# --- register ------------------------------------------------------------------------------------

def assets(request):
    institution = _need(request, Capability.VIEW_INVENTORY, object_type="asset")
    rows = Asset.objects.filter(institution=institution).select_related("location", "responsible")
    q = (request.GET.get("q") or "").strip()
    if q:
        rows = rows.filter(Q(name__icontains=q) | Q(inventory_number__icontains=q) | Q(barcode=q)
                           | Q(classifier_code__startswith=q))
    for key in ("location", "responsible"):
        if _int(request.GET.get(key)):
            rows = rows.filter(**{f"{key}_id": _int(request.GET.get(key))})
    if request.GET.get("account"):
        rows = rows.filter(account=request.GET["account"])
    status = request.GET.get("status", AssetStatus.IN_USE)
    if status in AssetStatus.values:
        rows = rows.filter(status=status)
    page = Paginator(rows.order_by("inventory_number"), PAGE_SIZE).get_page(request.GET.get("page"))
    log_action(actor=request.user, action=Action.VIEW, request=request, institution=institution,
               object_type="asset", details=f"register q={q}")
    return render(request, "inventory/assets.html", {
        "page": page, "q": q, "status": status, "Status": AssetStatus, "filters": request.GET,
        "layout": labels.Layout(), **_choices(institution)})


def asset_detail(request, pk: int):
    institution = _need(request, Capability.VIEW_INVENTORY, object_type="asset")
    asset = get_object_or_404(Asset.objects.select_related("location", "responsible", "grant"), pk=pk,
                              institution=institution)
    supplier = Counterparty.objects.filter(pk=asset.supplier_id, institution=institution).first()
    return render(request, "inventory/asset_detail.html", {
        "asset": asset, "supplier": supplier, "today": timezone.localdate(),
        "operations": asset.operations.select_related("from_location", "to_location", "from_responsible",
                                                      "to_responsible", "actor")[:200],
        **_choices(institution)})


@require_POST
def asset_transfer(request, pk: int):
    institution = _need(request, Capability.EDIT_INVENTORY, action=Action.EDIT, object_type="asset")
    asset = get_object_or_404(Asset, pk=pk, institution=institution)
    location = Location.objects.filter(institution=institution, pk=_int(request.POST.get("location"))).first()
    person = ResponsiblePerson.objects.filter(institution=institution, pk=_int(request.POST.get("responsible"))).first()
    try:
        services.transfer_asset(asset=asset, actor=request.user, date=_date(request.POST.get("date"),
                                                                            timezone.localdate()),
                                document=request.POST.get("document", ""),
                                location=location if location and location.id != asset.location_id else None,
                                responsible=person if person and person.id != asset.responsible_id else None,
                                request=request)
        messages.success(request, _("The asset is transferred."))
    except ControlError as error:
        _errors(request, error)
    return redirect("inventory_asset", pk=pk)


@require_POST
def asset_write_off(request, pk: int):
    institution = _need(request, Capability.EDIT_INVENTORY, action=Action.POST, object_type="asset")
    asset = get_object_or_404(Asset, pk=pk, institution=institution)
    quantity = _decimal(request.POST.get("quantity")) if request.POST.get("quantity") else None
    try:
        services.write_off_asset(asset=asset, actor=request.user, date=_date(request.POST.get("date"),
                                                                             timezone.localdate()),
                                 document=request.POST.get("document", ""), reason=request.POST.get("reason", ""),
                                 quantity=quantity, request=request)
        messages.success(request, _("The asset is written off and the entry posted."))
    except ControlError as error:
        _errors(request, error)
    return redirect("inventory_asset", pk=pk)


def receipt(request):
    institution = _need(request, Capability.EDIT_INVENTORY, action=Action.CREATE, object_type="asset")
    context = {"today": timezone.localdate(), "values": request.POST, **_choices(institution),
               "suppliers": Counterparty.objects.filter(institution=institution).order_by("name")[:2000]}
    status = 200
    if request.method == "POST":
        p = request.POST
        line = services.AssetInput(
            name=p.get("name", ""), account=p.get("account", ""), specific=p.get("specific", ""),
            location_id=_int(p.get("location")), responsible_id=_int(p.get("responsible")),
            cost=_decimal(p.get("cost")) or Decimal(0), quantity=_decimal(p.get("quantity")) or Decimal(0),
            unit=p.get("unit") or "шт", classifier_code=p.get("classifier_code", "").strip(),
            inventory_number=p.get("inventory_number", "").strip(), barcode=p.get("barcode", "").strip(),
            programme=p.get("programme", ""), subprogramme=p.get("subprogramme", ""),
            funding_source=p.get("funding_source") or "budget_local", grant_id=_int(p.get("grant")))
        supplier = Counterparty.objects.filter(institution=institution, pk=_int(p.get("supplier"))).first()
        day = _date(p.get("date"))
        try:
            if day is None:
                raise ControlError("date_invalid", _("Enter a valid date."), field="date")
            made = services.receive_assets(institution=institution, actor=request.user, date=day,
                                           document=p.get("document", ""), lines=[line],
                                           supplier_id=supplier.id if supplier else None, request=request)
        except ControlError as error:
            _errors(request, error)
            status = 422
        else:
            messages.success(request, _("%(n)s asset(s) received and the entry posted.") % {"n": len(made)})
            return redirect("inventory_asset", pk=made[0].pk)
    return render(request, "inventory/receipt.html", context, status=status)


def esf_import(request):
    institution = _need(request, Capability.EDIT_INVENTORY, action=Action.CREATE, object_type="asset")
    problems = []
    status = 200
    if request.method == "POST":
        p = request.POST
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ControlError("file_required", _("Choose the e-invoice file."), field="file")
            if upload.size > esf.FILE_BYTES_MAX:
                raise ControlError("file_too_large", _("The file is too large."), field="file")
            made = esf.import_esf(institution=institution, actor=request.user, data=upload.read(),
                                  account=p.get("account", ""), specific=p.get("specific", ""),
                                  location_id=_int(p.get("location")), responsible_id=_int(p.get("responsible")),
                                  programme=p.get("programme", ""), subprogramme=p.get("subprogramme", ""),
                                  funding_source=p.get("funding_source") or "budget_local",
                                  grant_id=_int(p.get("grant")), request=request)
        except ImportRefused as refused:
            problems = refused.problems
            status = 422
        except ControlError as error:
            _errors(request, error)
            status = 422
        else:
            messages.success(request, _("%(n)s asset(s) received from the e-invoice.") % {"n": len(made)})
            return redirect("inventory_assets")
    return render(request, "inventory/esf_import.html", {"problems": problems, "values": request.POST,
                                                         **_choices(institution)}, status=status)


@require_POST
def label_sheet(request):
    institution = _need(request, Capability.VIEW_INVENTORY, action=Action.EXPORT, object_type="asset")
    ids = [i for i in (_int(v) for v in request.POST.getlist("asset")) if i]
    chosen = {a.id: a for a in Asset.objects.filter(institution=institution, id__in=ids)}
    p = request.POST
    try:
        layout = labels.Layout(**{
            name: (float(p[name]) if name not in ("columns", "rows", "symbology") else  # float ok: label size in mm
                   (p[name] if name == "symbology" else int(p[name])))
            for name in labels.Layout.__dataclass_fields__ if p.get(name)})
        pdf = labels.render([chosen[i] for i in ids if i in chosen], layout, header=institution.name[:60])
    except (ValueError, TypeError):
        messages.error(request, _("The label layout must be numbers."))
        return redirect("inventory_assets")
    except ControlError as error:
        _errors(request, error)
        return redirect("inventory_assets")
    log_action(actor=request.user, action=Action.EXPORT, request=request, institution=institution,
               object_type="asset", details=f"labels for {len(chosen)} assets")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="labels.pdf"'
    return response


def reference(request):
    """Locations, responsible persons (МОЛ) and tied grants of the institution."""
    institution = _need(request, Capability.VIEW_INVENTORY, object_type="inventory_reference")
    if request.method == "POST":
        _need(request, Capability.EDIT_INVENTORY, action=Action.CREATE, object_type="inventory_reference")
        p = request.POST
        try:
            kind = p.get("kind")
            if kind == "location":
                services.create_location(institution=institution, actor=request.user, code=p.get("code", ""),
                                         name=p.get("name", ""), request=request)
            elif kind == "person":
                services.create_responsible_person(institution=institution, actor=request.user,
                                                   full_name=p.get("full_name", ""), iin=p.get("iin", "").strip(),
                                                   position=p.get("position", ""), request=request)
            elif kind == "grant":
                day = _date(p.get("agreement_date"))
                if day is None:
                    raise ControlError("date_invalid", _("Enter a valid date."), field="agreement_date")
                services.create_grant(institution=institution, actor=request.user, donor=p.get("donor", ""),
                                      agreement_number=p.get("agreement_number", ""), agreement_date=day,
                                      request=request)
            else:
                raise Http404
            messages.success(request, _("Saved."))
            return redirect("inventory_reference")
        except ControlError as error:
            _errors(request, error)
    return render(request, "inventory/reference.html", _choices(institution))


def depreciation(request):
    institution = _need(request, Capability.VIEW_INVENTORY, object_type="depreciation")
    if request.method == "POST":
        _need(request, Capability.EDIT_INVENTORY, action=Action.POST, object_type="depreciation")
        year, month = _int(request.POST.get("year")), _int(request.POST.get("month"))
        try:
            if not (year and 2000 <= year <= 2100 and month and 1 <= month <= 12):
                raise ControlError("period_invalid", _("Choose a year and a month."), field="month")
            run = services.run_depreciation(institution=institution, actor=request.user, year=year, month=month,
                                            request=request)
            messages.success(request, _("Depreciation posted: %(total)s for %(n)s assets.")
                             % {"total": run.total, "n": run.assets})
        except ControlError as error:
            _errors(request, error)
        return redirect("inventory_depreciation")
    today = timezone.localdate()
    return render(request, "inventory/depreciation.html", {
        "runs": DepreciationRun.objects.filter(institution=institution).order_by("-year", "-month")[:60],
        "norms": services.norms_on(today).values(), "year": today.year, "month": today.month,
        "months": range(1, 13)})


# --- counts --------------------------------------------------------------------------------------

def counts(request):
    institution = _need(request, Capability.VIEW_INVENTORY, object_type="inventory_count")
    if request.method == "POST":
        _need(request, Capability.EDIT_INVENTORY, action=Action.CREATE, object_type="inventory_count")
        p = request.POST
        try:
            order_date, count_date = _date(p.get("order_date")), _date(p.get("count_date"))
            if order_date is None or count_date is None:
                raise ControlError("date_invalid", _("Enter a valid date."), field="count_date")
            count = services.create_count(
                institution=institution, actor=request.user, number=p.get("number", ""), order_date=order_date,
                count_date=count_date, chairman=p.get("chairman", ""),
                members=[m for m in p.get("members", "").splitlines()],
                locations=[i for i in map(_int, p.getlist("locations")) if i],
                responsible=[i for i in map(_int, p.getlist("responsible")) if i],
                accounts=[a.strip() for a in p.get("accounts", "").split(",") if a.strip()],
                shortage_decision=p.get("shortage_decision") or ShortageDecision.RECOVER, request=request)
            return redirect("inventory_count", pk=count.pk)
        except ControlError as error:
            _errors(request, error)
    today = timezone.localdate()
    return render(request, "inventory/counts.html", {
        "counts": InventoryCount.objects.filter(institution=institution)[:200], "today": today,
        "Decision": ShortageDecision, **_choices(institution)})


def _count(request, pk: int, capability=Capability.VIEW_INVENTORY, action=Action.VIEW):
    institution = _need(request, capability, action=action, object_type="inventory_count")
    return institution, get_object_or_404(InventoryCount, pk=pk, institution=institution)


def count_detail(request, pk: int):
    institution, count = _count(request, pk)
    context = {"count": count, "progress": counting.count_progress(count), "Status": CountStatus,
               "Decision": ShortageDecision, **_choices(institution)}
    if count.status in (CountStatus.CLOSED, CountStatus.APPROVED):
        context["result"] = statements.collation(count)
    if count.status == CountStatus.IN_PROGRESS:
        context["unknown_codes"] = sorted({r.code for r in statements.collation(count).unknown})
    return render(request, "inventory/count_detail.html", context)


def count_progress(request, pk: int):
    """The progress table alone, polled by htmx while the count runs."""
    _institution, count = _count(request, pk)
    return render(request, "inventory/_count_progress.html", {"count": count, "progress":
                                                              counting.count_progress(count), "Status": CountStatus})


@require_POST
def count_step(request, pk: int, step: str):
    capability = Capability.APPROVE_INVENTORY if step in ("approve", "decision") else Capability.EDIT_INVENTORY
    institution, count = _count(request, pk, capability, Action.EDIT)
    p = request.POST
    try:
        if step == "start":
            services.start_count(count=count, actor=request.user, request=request)
        elif step == "close":
            services.close_count(count=count, actor=request.user, request=request)
        elif step == "approve":
            services.approve_count(count=count, actor=request.user, date=_date(p.get("date")), request=request)
        elif step == "counted":
            quantity = _decimal(p.get("quantity")) if p.get("quantity") else None
            if p.get("quantity") and quantity is None:
                raise ControlError("quantity_invalid", _("The quantity must be a number."), field="quantity")
            asset = Asset.objects.filter(institution=institution).filter(
                Q(inventory_number=p.get("asset", "").strip()) | Q(barcode=p.get("asset", "").strip())).first()
            if asset is None:
                raise ControlError("item_unknown", _("This asset is not in the count."), field="asset")
            services.set_counted_quantity(count=count, actor=request.user, asset_id=asset.id, quantity=quantity,
                                          request=request)
        elif step == "surplus":
            location = get_object_or_404(Location, institution=institution, pk=_int(p.get("location")))
            person = get_object_or_404(ResponsiblePerson, institution=institution, pk=_int(p.get("responsible")))
            services.register_surplus(count=count, actor=request.user, code=p.get("code", ""),
                                      name=p.get("name", ""), account=p.get("account", ""),
                                      specific=p.get("specific", ""), location=location, responsible=person,
                                      value=_decimal(p.get("value")) or Decimal(0),
                                      quantity=_decimal(p.get("quantity")) or Decimal(1), request=request)
        elif step == "decision":
            services.set_shortage_decision(count=count, actor=request.user, asset_id=_int(p.get("asset")) or 0,
                                           decision=p.get("decision", ""), request=request)
        else:
            raise Http404
        messages.success(request, _("Saved."))
    except ControlError as error:
        _errors(request, error)
    return redirect("inventory_count", pk=pk)


def count_file(request, pk: int, name: str, fmt: str):
    institution, count = _count(request, pk, action=Action.EXPORT)
    if fmt not in FILE_TYPES or name not in ("inventory-list", "collation"):
        raise Http404
    if count.status not in (CountStatus.CLOSED, CountStatus.APPROVED):
        messages.error(request, _("The statements are ready once the count is closed."))
        return redirect("inventory_count", pk=pk)
    render_file = {
        ("inventory-list", "xlsx"): statements.inventory_list_xlsx, ("inventory-list", "pdf"):
        statements.inventory_list_pdf, ("collation", "xlsx"): statements.collation_xlsx,
        ("collation", "pdf"): statements.collation_pdf,
    }[(name, fmt)]
    log_action(actor=request.user, action=Action.EXPORT, request=request, institution=institution,
               object_type="inventory_count", object_id=count.pk, details=f"{name}.{fmt}")
    response = HttpResponse(render_file(count), content_type=FILE_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{name}-{count.number}.{fmt}"'
    return response


def count_url(count) -> str:
    return reverse("inventory_count", args=[count.pk])
