"""Demo of access (called by `manage.py load_demo` after the ledger demo): every demo user trained
this quarter (so the demo also works with ESEP_TRAINING_GATE on), and an approved auditor grant of
an internal-audit employee over the demo administrator's subtree. Idempotent."""

import datetime as dt

from django.utils import timezone

from . import services
from .models import AuditorGrant, TrainingAttestation, User

COURSE = "Esep: пайдаланушы курсы / курс пользователя"


def load_app_demo(progress=None) -> str | None:
    admin = User.objects.filter(username="administrator").first()
    if admin is None:
        return None
    today = timezone.localdate()
    done = []
    # The grant first: it creates the auditor's user, who is trained with everybody below.
    top = admin.memberships.filter(institution__parent__isnull=True).select_related("institution").first()
    from ledger.demo import make_iin

    iin = make_iin(dt.date(1982, 8, 30), False, 71)
    if top is not None and not AuditorGrant.objects.filter(iin=iin).exists():
        grant = services.request_auditor_grant(
            actor=admin, full_name="Тексерова Әсел Маратқызы", iin=iin,
            position="Бас маман, ішкі аудит бөлімі", eqyzmet_qr="EQ-DEMO-000001", phone="+7 701 000 00 01",
            email="audit.demo@example.kz", purpose="Ішкі мемлекеттік аудит (демо)",
            audit_body="Облыстың ішкі аудит қызметі", scope_kind="subtree", scope_institution=top.institution,
            valid_from=today,
        )
        grant = services.approve_auditor_grant(grant=grant, actor=admin)
        done.append(f"auditor grant {grant.user.username} over {top.institution.name_ru}")
    trained = set(TrainingAttestation.objects.filter(date__gte=services.quarter_start(today))
                  .values_list("user_id", flat=True))
    users = list(User.objects.filter(is_active=True).exclude(pk__in=trained))
    for user in users:
        services.record_attestation(user=user, date=today, course=COURSE, actor=admin)
    if users:
        done.append(f"{len(users)} user(s) trained this quarter")
    return "; ".join(done) or None
