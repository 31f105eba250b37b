"""Pages: the scanner registry, the scan page for keyboard-wedge terminals, batch upload and
the review of flagged scans. Thin: every write goes through devices.services / devices.batch."""

import json
import re

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from access.errors import ControlError, ControlErrors
from access.middleware import current_institution
from access.roles import Capability
from access.services import require
from esep.imports import ImportRefused

from . import batch, services
from .models import BAUD_RATES, CODEPAGES, REVIEW_FLAGS, Device, Flag, Scan, Source

REF = re.compile(r"^[A-Za-z0-9_-]{6,60}$")


def _institution(request, capability):
    institution = current_institution(request)
    if institution is None:
        raise Http404
    require(request.user, institution, capability, request=request, object_type="devices")
    return institution


def _guard(view):
    """A refused capability shows the 403 page instead of a traceback."""
    from functools import wraps

    from django.core.exceptions import PermissionDenied

    from access.errors import PermissionRefused

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except PermissionRefused as exc:
            raise PermissionDenied(str(exc.message)) from None

    return wrapped


class DeviceForm(forms.ModelForm):
    baud = forms.TypedChoiceField(label=gettext_lazy("baud rate"), choices=[(b, b) for b in BAUD_RATES], coerce=int,
                                  initial=9600)
    codepage = forms.ChoiceField(label=gettext_lazy("codepage"), choices=[(c, c) for c in CODEPAGES], initial="ascii")

    class Meta:
        model = Device
        fields = ["label", "kind", "port", "baud", "parity", "prefix", "suffix", "terminator", "codepage"]


def _apply_errors(form, exc: ControlError) -> None:
    for error in getattr(exc, "errors", [exc]):
        form.add_error(error.field if error.field in form.fields else None, str(error.message))


@_guard
def device_list(request):
    institution = _institution(request, Capability.VIEW_INVENTORY)
    if request.method == "POST":
        require(request.user, institution, Capability.EDIT_INVENTORY, request=request, object_type="device")
    may_edit = Capability.EDIT_INVENTORY in _caps(request, institution)
    form = DeviceForm(request.POST or None) if may_edit else None
    token = None
    if request.method == "POST" and may_edit and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            device, token = services.create_device(actor=request.user, institution=institution,
                                                   label=data.pop("label"), request=request, **data)
        except ControlError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Scanner %(label)s registered.") % {"label": device.label})
            return render(request, "devices/token.html", {"device": device, "token": token})
    devices = services.with_activity(Device.objects.filter(institution=institution)).order_by("label")
    return render(request, "devices/devices.html", {"devices": devices, "form": form, "may_edit": may_edit})


def _caps(request, institution):
    from access.roles import capabilities_of
    from access.services import roles_in

    return capabilities_of(roles_in(request.user, institution))


@_guard
def device_edit(request, pk):
    institution = _institution(request, Capability.EDIT_INVENTORY)
    device = get_object_or_404(Device, pk=pk, institution=institution)
    form = DeviceForm(request.POST or None, instance=device)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.update_device(actor=request.user, device=Device.objects.get(pk=device.pk), request=request,
                                       **form.cleaned_data)
            except ControlError as exc:
                _apply_errors(form, exc)
            else:
                messages.success(request, _("Scanner %(label)s saved.") % {"label": form.cleaned_data["label"]})
                return redirect("devices:list")
    return render(request, "devices/device_edit.html", {"device": device, "form": form})


@_guard
@require_POST
def device_token(request, pk):
    institution = _institution(request, Capability.EDIT_INVENTORY)
    device = get_object_or_404(Device, pk=pk, institution=institution)
    token = services.issue_token(actor=request.user, device=device, request=request)
    return render(request, "devices/token.html", {"device": device, "token": token})


@_guard
@require_POST
def device_revoke(request, pk):
    institution = _institution(request, Capability.EDIT_INVENTORY)
    device = get_object_or_404(Device, pk=pk, institution=institution)
    services.revoke_token(actor=request.user, device=device, request=request)
    messages.success(request, _("The token of %(label)s is revoked.") % {"label": device.label})
    return redirect("devices:list")


def _counts_with_locations(institution):
    from inventory import counting

    result = []
    for count in counting.open_counts(institution):
        result.append({"id": count.pk, "label": str(count), "locations": counting.count_progress(count)})
    return result


@_guard
@require_GET
def scan_page(request):
    """The keyboard-wedge page: a scanner types the code and Enter into the one input."""
    institution = _institution(request, Capability.EDIT_INVENTORY)
    counts = _counts_with_locations(institution)
    return render(request, "devices/scan.html", {"counts": counts, "counts_json": counts})


@_guard
@require_POST
def scan_submit(request):
    """One scan from the scan page: JSON {ref, code, count, location} → the outcome as JSON.
    The page makes `ref` once per scan and resends it after a failed request, so a scan sent
    twice is counted once."""
    institution = _institution(request, Capability.EDIT_INVENTORY)
    try:
        data = json.loads(request.body or b"{}")
        ref = str(data.get("ref", ""))
        code = data.get("code", "")
        count_id = int(data["count"]) if data.get("count") not in (None, "") else None
        location_id = int(data["location"]) if data.get("location") not in (None, "") else None
        if not REF.match(ref) or not isinstance(code, str):
            raise ValueError(ref)
    except (ValueError, TypeError, KeyError):
        return JsonResponse({"status": "rejected", "message": _("The scan could not be read; scan again.")},
                            status=400)
    answer = services.record(institution=institution, source=Source.WEDGE, raw=code, ref=f"w:{ref}",
                             count_id=count_id, location_id=location_id, user=request.user)
    return JsonResponse(answer.as_dict())


@_guard
@require_GET
def review(request):
    institution = _institution(request, Capability.VIEW_INVENTORY)
    may_edit = Capability.EDIT_INVENTORY in _caps(request, institution)
    flag = request.GET.get("flag", "")
    show = request.GET.get("show", "open")
    scans = Scan.objects.filter(institution=institution).select_related("device", "review", "review__reviewer")
    if flag in Flag.values:
        scans = scans.filter(flag=flag)
    else:
        scans = scans.filter(flag__in=REVIEW_FLAGS)
        flag = ""
    if show == "open":
        scans = scans.filter(review__isnull=True)
    page = Paginator(scans.order_by("-received_at", "-id"), 50).get_page(request.GET.get("page"))
    return render(request, "devices/review.html", {
        "page": page, "flag": flag, "show": show, "flags": [(f, Flag(f).label) for f in Flag.values],
        "may_edit": may_edit})


@_guard
@require_POST
def review_scan(request, pk):
    institution = _institution(request, Capability.EDIT_INVENTORY)
    scan = get_object_or_404(Scan, pk=pk, institution=institution)
    try:
        services.review_scan(actor=request.user, scan=scan, note=request.POST.get("note", ""), request=request)
    except ControlError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Scan %(code)s marked as reviewed.") % {"code": scan.code or scan.raw[:30]})
    return redirect(request.POST.get("next") or "devices:review")


class BatchForm(forms.Form):
    count = forms.TypedChoiceField(label=gettext_lazy("Count"), coerce=int)
    device = forms.TypedChoiceField(label=gettext_lazy("Terminal"), coerce=int, required=False, empty_value=None)
    file = forms.FileField(label=gettext_lazy("File (CSV or TXT)"))

    def __init__(self, *args, institution, **kwargs):
        super().__init__(*args, **kwargs)
        from inventory import counting

        self.fields["count"].choices = [(c.pk, str(c)) for c in counting.open_counts(institution)]
        self.fields["device"].choices = [("", "—")] + [
            (d.pk, d.label) for d in Device.objects.filter(institution=institution).order_by("label")]


@_guard
def batch_upload(request):
    institution = _institution(request, Capability.EDIT_INVENTORY)
    form = BatchForm(request.POST or None, request.FILES or None, institution=institution)
    problems, result = None, None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        device = None
        if form.cleaned_data["device"]:
            device = get_object_or_404(Device, pk=form.cleaned_data["device"], institution=institution)
        try:
            result = batch.upload(actor=request.user, institution=institution, device=device,
                                  count_id=form.cleaned_data["count"], name=upload.name, content=upload.read(),
                                  request=request)
        except ImportRefused as exc:
            problems = exc.problems
        except ControlErrors as exc:
            _apply_errors(form, exc)
        except ControlError as exc:
            form.add_error("file" if exc.field == "file" else None, str(exc.message))
    outcomes = [(Flag(flag).label, n) for flag, n in sorted(result.outcomes.items())] if result else []
    return render(request, "devices/batch.html", {"form": form, "problems": problems, "result": result,
                                                  "outcomes": outcomes})
