"""Reference data is edited by administrators through the admin site; every change is kept
by django-auditlog and journaled; nothing is deleted; other roles cannot reach it."""

import pytest
from auditlog.models import LogEntry

from access.models import ActionLog
from access.roles import Role
from access.services import create_user, grant_role

from .factories import make_iin


@pytest.fixture
def administrator(world):
    user = create_user(actor=None, username="admin_a", password="correct-horse-battery", last_name="Әкімшіов",
                       first_name="Тест", iin=make_iin("800101", "9"))
    grant_role(actor=None, user=user, institution=world.a, role=Role.ADMINISTRATOR)
    user.refresh_from_db()
    return user


def test_administrator_renames_an_account_and_the_change_is_logged(client, world, administrator):
    assert administrator.is_staff  # granted by the role
    client.force_login(administrator)
    account = world.accounts["7060"]
    url = f"/admin/ledger/account/{account.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    form = {
        "code": account.code, "name_ru": "Прочие расходы (уточнено)", "name_kk": account.name_kk,
        "section": account.section, "kind": account.kind, "valid_from": account.valid_from.isoformat(),
        "valid_to": "", "source": "МФ РК № 281", "status": "unverified",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    account.refresh_from_db()
    assert account.name_ru == "Прочие расходы (уточнено)"
    change = LogEntry.objects.get_for_object(account).latest("timestamp")
    assert "name_ru" in change.changes_dict
    assert change.actor == administrator
    assert ActionLog.objects.filter(user=administrator, action="edit", object_type="account",
                                    object_id=str(account.pk)).exists()
    # no delete is offered, and the database refuses one anyway
    assert client.get(f"/admin/ledger/account/{account.pk}/delete/").status_code == 403


@pytest.mark.parametrize("who", ["chief_a", "accountant_a", "auditor_a"])
def test_other_roles_cannot_edit_reference_data(client, world, who):
    user = getattr(world, who)
    user.is_staff = True  # even a staff flag set by mistake does not open reference data
    user.save()
    client.force_login(user)
    account = world.accounts["7060"]
    assert client.get(f"/admin/ledger/account/{account.pk}/change/").status_code in (302, 403)
    response = client.post(f"/admin/ledger/account/{account.pk}/change/", {"name_ru": "x"})
    assert response.status_code in (302, 403)
    account.refresh_from_db()
    assert account.name_ru != "x"
