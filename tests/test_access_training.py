"""Training gate (R16): a user without a training this quarter is refused, with a page saying why
and whom to contact; administrators record trainings and may let a user work for a while
(logged). The gate is a deployment setting: off here by default, on in these tests."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from access import services
from access.errors import ControlError
from access.models import ActionLog, TrainingAttestation

from .access_support import api_client, make_admin, page_client

pytestmark = pytest.mark.django_db
gate_on = override_settings(ESEP_TRAINING_GATE=True, ESEP_TRAINING_CONTACT="Қолдау қызметі: 8 800 000 00 00")


@pytest.fixture
def admin(world):
    return make_admin(world)


def last_quarter_day(today):
    return services.quarter_start(today) - dt.timedelta(days=1)


@pytest.mark.parametrize("day, start, end", [
    (dt.date(2026, 1, 1), dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
    (dt.date(2026, 5, 17), dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
    (dt.date(2026, 9, 30), dt.date(2026, 7, 1), dt.date(2026, 9, 30)),
    (dt.date(2026, 12, 31), dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
])
def test_quarters(day, start, end):
    assert (services.quarter_start(day), services.quarter_end(day)) == (start, end)


def test_gate_is_off_by_default(world):
    assert page_client(world.accountant_a).get(reverse("journal")).status_code == 200


@gate_on
def test_untrained_user_is_refused_with_why_and_whom_to_contact(world, admin):
    client = page_client(world.accountant_a)
    response = client.get(reverse("journal"))
    assert response.status_code == 302 and response["Location"] == reverse("training_required")
    page = client.get(reverse("training_required"), HTTP_ACCEPT_LANGUAGE="kk")
    text = page.content.decode()
    assert page.status_code == 403
    assert "тоқсан" in text  # "quarter" in Kazakh: the reason is given in the user's language
    assert "Админов" in text and "Қолдау қызметі" in text  # whom to contact
    row = ActionLog.objects.filter(user=world.accountant_a, object_type="training_gate").get()
    assert row.outcome == "refused"
    # the API refuses token users the same way
    api = api_client(world.accountant_a)
    answer = api.get("/api/v1/entries/")
    assert answer.status_code == 403


@gate_on
def test_a_training_last_quarter_is_not_enough_this_quarter_is(world, admin):
    today = timezone.localdate()
    services.record_attestation(user=world.accountant_a, date=last_quarter_day(today), course="Esep 1",
                                actor=admin)
    client = page_client(world.accountant_a)
    assert client.get(reverse("journal")).status_code == 302
    services.record_attestation(user=world.accountant_a, date=today, course="Esep 2", actor=admin)
    assert client.get(reverse("journal")).status_code == 200
    assert api_client(world.accountant_a).get("/api/v1/entries/").status_code == 200


@gate_on
def test_administrator_override_lets_the_user_work_and_is_logged(world, admin):
    today = timezone.localdate()
    services.override_training(user=world.accountant_a, until=today, reason="курс перенесён", actor=admin)
    assert page_client(world.accountant_a).get(reverse("journal")).status_code == 200
    row = ActionLog.objects.get(object_type="training_override")
    assert row.user == admin and "курс перенесён" in row.details
    with pytest.raises(ControlError) as refused:
        services.override_training(user=world.accountant_a, until=services.quarter_end(today) + dt.timedelta(days=1),
                                   reason="x", actor=admin)
    assert refused.value.field == "until"
    with pytest.raises(ControlError):
        services.override_training(user=world.accountant_a, until=today, reason=" ", actor=admin)


@gate_on
def test_superuser_is_exempt_so_someone_can_record_trainings(world):
    from access.models import User

    root = User.objects.create_superuser("root", "root@example.kz", "x-very-long-password-1")
    assert page_client(root).get(reverse("training")).status_code == 200


def test_attestations_are_append_only_and_validated(world, admin):
    row = services.record_attestation(user=world.clerk_a, date=timezone.localdate(), course="Esep", actor=admin)
    with pytest.raises(Exception, match="immutable"), transaction.atomic():
        TrainingAttestation.objects.filter(pk=row.pk).update(course="other")
    with pytest.raises(Exception, match="immutable"), transaction.atomic():
        TrainingAttestation.objects.filter(pk=row.pk).delete()
    with pytest.raises(ControlError) as future:
        services.record_attestation(user=world.clerk_a, date=timezone.localdate() + dt.timedelta(days=1),
                                    course="Esep", actor=admin)
    assert future.value.field == "date"
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingAttestation.objects.create(user=world.clerk_a, date=None, course="x")


def test_training_page_records_attestations(world, admin):
    client = page_client(admin)
    response = client.post(reverse("training"), {"form": "attest", "a-user": world.clerk_a.pk,
                                                 "a-date": timezone.localdate().isoformat(), "a-course": "Esep"})
    assert response.status_code == 302
    assert TrainingAttestation.objects.filter(user=world.clerk_a, course="Esep").exists()
    assert page_client(world.clerk_a).get(reverse("training")).status_code == 403
