"""API of the export: the stream status of the request's institution (export.view)."""

from rest_framework.response import Response
from rest_framework.views import APIView

from access.api import HasCapability
from access.middleware import current_institution
from access.roles import Capability

from . import services
from .models import Batch, BatchStatus, Reconciliation


class StatusView(APIView):
    permission_classes = [HasCapability]
    capabilities = {"GET": Capability.VIEW_EXPORT}

    def get(self, request):
        institution = current_institution(request)
        stream = services.stream_status(institution)
        last = Reconciliation.objects.filter(institution=institution).first()
        return Response({
            "institution_bin": institution.bin,
            "last_seq": stream["last_seq"], "acked_seq": stream["acked_seq"], "waiting": stream["waiting"],
            "lag_seconds": round(stream["lag"].total_seconds(), 1), "failing_batches": stream["failures"],
            "dead_letters": [{"batch_id": str(b.id), "first_seq": b.first_seq, "last_seq": b.last_seq,
                              "attempts": b.attempts, "last_error": b.last_error}
                             for b in Batch.objects.filter(institution=institution, status=BatchStatus.DEAD)
                             .defer("body")],
            "last_reconciliation": last and {"at": last.at, "status": last.status, "up_to_seq": last.up_to_seq,
                                             "mismatches": last.mismatches},
        })
