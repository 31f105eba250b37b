"""Helpers of the access and security tests."""

import datetime as dt

from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from access import services
from access.models import Institution
from access.roles import Role

from .factories import make_bin, make_iin


def page_client(user, language="ru") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def api_client(user, institution=None, language="ru") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    if institution is not None:
        client.defaults["HTTP_X_INSTITUTION"] = str(institution.id)
    return client


def make_admin(world, serial="7"):
    """An administrator (access.manage_users) of institution A."""
    user = services.create_user(actor=None, username=f"admin_{serial}", password="correct-horse-battery",
                                last_name="Админов", first_name="Тест", iin=make_iin("800101", serial))
    services.grant_role(actor=None, user=user, institution=world.a, role=Role.ADMINISTRATOR)
    return user


def make_tree(world):
    """An administrator institution (АБП 462, region Астана) with two subordinates, plus world.a/b
    (Алматы, 261). Returns (top, child1, child2)."""
    top = services.create_institution(actor=None, bin=make_bin("31"), name_kk="Басқарма", name_ru="Управление",
                                      budget_level="regional", region="Астана", administrator_code="462")
    kids = [services.create_institution(actor=None, bin=make_bin(f"3{n}"), name_kk=f"Мектеп {n}",
                                        name_ru=f"Школа {n}", budget_level="regional", region="Астана",
                                        administrator_code="462", parent=top) for n in (2, 3)]
    return top, *kids


GRANT_FIELDS = {
    "full_name": "Тексеров Ержан Болатұлы", "iin": make_iin("900202", "8"),
    "position": "Бас маман, ішкі аудит бөлімі", "eqyzmet_qr": "EQ-2026-000123",
    "phone": "+7 701 000 00 00", "email": "auditor@audit.gov.kz",
    "purpose": "Ішкі мемлекеттік аудит", "audit_body": "Ішкі мемлекеттік аудит комитеті",
}


def approved_grant(admin, *, scope_kind="region", valid_from=None, **scope):
    valid_from = valid_from or timezone.localdate() - dt.timedelta(days=1)
    scope = scope or {"scope_region": "Астана"}
    grant = services.request_auditor_grant(actor=admin, scope_kind=scope_kind, valid_from=valid_from,
                                           **GRANT_FIELDS, **scope)
    return services.approve_auditor_grant(grant=grant, actor=admin)


def institutions_named(qs) -> set[str]:
    return set(Institution.objects.filter(pk__in=[i.pk for i in qs]).values_list("name_ru", flat=True))
