"""Demo inventory for the school and the college: locations, responsible persons, a tied
grant, fixed assets and stock received in January (posted to the ledger), February's
depreciation and a count in progress with part of the book scanned (some items misplaced,
one unknown code), so the count page shows live progress.

Idempotent: an institution that already has assets is left alone."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from access.models import Institution, User

from . import counting, services
from .models import Asset

YEAR = 2026
RECEIVED = dt.date(YEAR, 1, 15)
ROOMS = (("101", "Кабинет информатики"), ("102", "Кабинет физики"), ("201", "Библиотека"), ("S1", "Склад"))
FIXED = (  # name, КТРУ, account, specific, quantity, cost per unit, room index
    ("Ноутбук Lenovo ThinkPad E16", "262013.000.000003", "2350", "414", 12, "385000.00", 0),
    ("Интерактивная панель 75\"", "262040.900.000006", "2350", "414", 3, "1450000.00", 0),
    ("Микроскоп лабораторный", "267015.300.000002", "2350", "414", 8, "96000.00", 1),
    ("Парта ученическая двухместная", "310112.500.000000", "2370", "414", 20, "38000.00", 1),
    ("Стеллаж библиотечный", "310111.900.000001", "2370", "414", 10, "52000.00", 2),
    ("Многофункциональное устройство", "262016.900.000003", "2350", "414", 2, "265000.00", 2),
)
STOCK = (  # name, КТРУ, account, specific, quantity, unit, cost, room index
    ("Бумага офисная А4", "171912.900.000001", "1316", "149", 120, "пачка", "324000.00", 3),
    ("Картридж для МФУ", "262012.900.000000", "1316", "149", 16, "шт", "208000.00", 3),
)


def _load(institution: Institution, operator: User, chief: User | None, programme: str, today: dt.date) -> str:
    locations = [services.create_location(institution=institution, actor=operator, code=code, name=name)
                 for code, name in ROOMS]
    persons = [services.create_responsible_person(institution=institution, actor=operator, full_name=name,
                                                  position=position)
               for name, position in (("Омарова Бота Сериковна", "заведующая хозяйством"),
                                      ("Ким Сергей Викторович", "учитель информатики"))]
    grant = services.create_grant(institution=institution, actor=operator, donor="ЮНИСЕФ (демо)",
                                  agreement_number=f"GR-{YEAR}-{institution.bin[-3:]}",
                                  agreement_date=dt.date(YEAR - 1, 11, 20))
    lines = []
    for name, ktru, account, specific, qty, unit_cost, room in FIXED:
        grant_funded = name.startswith("Интерактивная")
        lines.append(services.AssetInput(
            name=name, classifier_code=ktru, account=account, specific=specific, quantity=Decimal(qty),
            cost=Decimal(unit_cost) * qty, location_id=locations[room].id, responsible_id=persons[room == 0].id,
            programme=programme, subprogramme="015", funding_source="grant" if grant_funded else "budget_local",
            grant_id=grant.id if grant_funded else None))
    for name, ktru, account, specific, qty, unit, cost, room in STOCK:
        lines.append(services.AssetInput(
            name=name, classifier_code=ktru, account=account, specific=specific, quantity=Decimal(qty), unit=unit,
            cost=Decimal(cost), location_id=locations[room].id, responsible_id=persons[0].id, programme=programme,
            subprogramme="015"))
    from ledger.models import Counterparty

    supplier = Counterparty.objects.filter(institution=institution).order_by("id").first()
    assets = services.receive_assets(institution=institution, actor=operator, date=RECEIVED, document="ЭСФ-ДЕМО-1",
                                     lines=lines, supplier_id=supplier.id if supplier else None)
    if today >= dt.date(YEAR, 3, 1):
        services.run_depreciation(institution=institution, actor=operator, year=YEAR, month=2)
    day = min(max(today, dt.date(YEAR, 2, 1)), dt.date(YEAR, 12, 31))
    count = services.create_count(institution=institution, actor=operator, number=f"ИНВ-{YEAR}-1", order_date=day,
                                  count_date=day, chairman="Директор (демо)",
                                  members=["Главный бухгалтер (демо)", "Заведующая хозяйством (демо)"])
    count = services.start_count(count=count, actor=operator)
    scanned = 0
    for n, asset in enumerate(a for a in assets if a.kind == "fixed"):
        if n % 10 in (3, 7):  # not reached yet
            continue
        place = locations[(asset.location_id == locations[0].id) + 1].id if n % 17 == 5 else asset.location_id
        counting.record_scan(count=count, code=asset.barcode, location_id=place, scan_ref=f"demo:{n}",
                             device_label="demo")
        scanned += 1
    counting.record_scan(count=count, code="4870001234567", location_id=locations[2].id, scan_ref="demo:unknown",
                         device_label="demo")
    return f"{institution.bin}: {len(assets)} assets, count {count.number} in progress ({scanned} scans)"


def load_app_demo(progress=None, today: dt.date | None = None) -> str | None:
    from ledger.demo import COLLEGE, SCHOOL

    today = today or timezone.localdate()
    say = progress or (lambda _m: None)
    done = []
    for spec in (SCHOOL, COLLEGE):
        institution = Institution.objects.filter(bin=spec.bin).first()
        operator = User.objects.filter(username=f"{spec.key}.inventory").first()
        chief = User.objects.filter(username=f"{spec.key}.chief").first()
        if institution is None or operator is None or Asset.objects.filter(institution=institution).exists():
            continue
        with transaction.atomic():
            done.append(_load(institution, operator, chief, spec.programme, today))
        say(done[-1])
    return "; ".join(done) or None
