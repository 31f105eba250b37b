"""The counterparty directory page: list and search within the institution, add with the
IIN/BIN check digit validated, refusals in the user's language, roles and journal."""

from access.models import ActionLog
from ledger.models import Counterparty

from .factories import make_bin, make_counterparty


def test_list_search_and_add(client, world):
    make_counterparty(world.a, "ТОО «Альфа»", "11")
    make_counterparty(world.b, "ТОО «Чужой»", "12")
    client.force_login(world.accountant_a)
    page = client.get("/counterparties/", {"q": "аль"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "ТОО «Альфа»" in text and "Чужой" not in text
    bin_ = make_bin("13")
    response = client.post("/counterparties/", {"iin_bin": bin_, "name": "ТОО «Бета»", "address": "Караганда"})
    assert response.status_code == 302
    created = Counterparty.objects.get(institution=world.a, iin_bin=bin_)
    assert created.name == "ТОО «Бета»" and created.source == "manual"
    assert ActionLog.objects.filter(user=world.accountant_a, action="create", object_type="counterparty",
                                    object_id=str(created.pk)).exists()


def test_a_wrong_check_digit_is_refused_in_the_users_language(client, world):
    good = make_bin("14")
    bad = good[:11] + str((int(good[11]) + 1) % 10)
    client.force_login(world.accountant_a)
    ru = client.post("/counterparties/", {"iin_bin": bad, "name": "X"}, HTTP_ACCEPT_LANGUAGE="ru")
    kk = client.post("/counterparties/", {"iin_bin": bad, "name": "X"}, HTTP_ACCEPT_LANGUAGE="kk")
    assert ru.status_code == kk.status_code == 422
    assert "контрольн" in ru.content.decode().lower()
    assert ru.content.decode() != kk.content.decode()
    assert not Counterparty.objects.filter(iin_bin=bad).exists()


def test_auditor_sees_but_cannot_add(client, world):
    client.force_login(world.auditor_a)
    assert client.get("/counterparties/").status_code == 200
    response = client.post("/counterparties/", {"iin_bin": make_bin("15"), "name": "X"})
    assert response.status_code == 403
    assert not Counterparty.objects.filter(name="X").exists()
