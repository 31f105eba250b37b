"""Export status page (R12, R13): stream position, lag, failures, dead letters,
reconciliation results with drill-down, and the operator's actions (export.manage)."""

import calendar
import datetime as dt
from functools import partial

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from access.errors import ControlError
from access.models import Action
from access.pages import need_capability
from access.roles import Capability
from access.services import log_action

from . import services
from .conf import config
from .models import Attempt, Batch, BatchStatus, Reconciliation

_need = partial(need_capability, object_type="dwh_export")


def status(request):
    institution = _need(request, Capability.VIEW_EXPORT)
    batches = Batch.objects.filter(institution=institution).defer("body")
    log_action(actor=request.user, action=Action.VIEW, request=request, institution=institution,
               object_type="dwh_export")
    return render(request, "dwh_export/status.html", {
        "stream": services.stream_status(institution),
        "endpoint": config().endpoint,
        "dead": batches.filter(status=BatchStatus.DEAD).order_by("first_seq"),
        "failing": batches.filter(status=BatchStatus.PENDING, attempts__gt=0),
        "recent": batches.order_by("-created_at")[:20],
        "attempts": Attempt.objects.filter(batch__institution=institution).exclude(outcome="delivered")
                           .select_related("batch").order_by("-at")[:20],
        "reconciliations": Reconciliation.objects.filter(institution=institution)[:10],
    })


def reconciliation_detail(request, pk: int):
    institution = _need(request, Capability.VIEW_EXPORT)
    result = get_object_or_404(Reconciliation, pk=pk, institution=institution)
    rows = []
    for m in result.mismatches:
        year, month = (int(x) for x in m["period"].split("-"))
        start = dt.date(year, month, 1)
        end = dt.date(year, month, calendar.monthrange(year, month)[1])
        # drill-down to the ledger's account card of that month
        card = reverse("account_card") + "?" + urlencode({"account": m["account"], "date_from": start.isoformat(),
                                                          "date_to": end.isoformat()})
        rows.append({**m, "card": card})
    return render(request, "dwh_export/reconciliation.html", {"result": result, "rows": rows})


def _done(request, run, success: str):
    try:
        run()
    except ControlError as error:
        for one in getattr(error, "errors", None) or [error]:
            messages.error(request, str(one.message))
    else:
        messages.success(request, success)
    return redirect("dwh_export_status")


@require_POST
def resend(request):
    institution = _need(request, Capability.MANAGE_EXPORT, action=Action.EXPORT, object_type="dwh_stream")
    raw = request.POST.get("seq", "").strip()
    if not raw.isdigit():
        messages.error(request, _("Sequence number: enter a whole number from 1."))
        return redirect("dwh_export_status")
    seq = int(raw)
    return _done(request, lambda: services.resend_from(institution=institution, seq=seq, actor=request.user,
                                                       request=request),
                 _("Resend from sequence %(seq)s ordered.") % {"seq": seq})


@require_POST
def retry(request, pk):
    institution = _need(request, Capability.MANAGE_EXPORT, action=Action.EXPORT, object_type="dwh_batch")
    batch = get_object_or_404(Batch, pk=pk, institution=institution)
    return _done(request, lambda: services.retry_dead(batch=batch, actor=request.user, request=request),
                 _("The batch is queued for delivery again."))


@require_POST
def reconcile_now(request):
    institution = _need(request, Capability.MANAGE_EXPORT, action=Action.EXPORT, object_type="dwh_reconciliation")
    result = services.reconcile(institution, actor=request.user, request=request)
    if result.status == "error":
        messages.error(request, _("The receiver did not answer: %(detail)s") % {"detail": result.detail})
    else:
        messages.success(request, result.get_status_display())
    return redirect("dwh_export_status")
