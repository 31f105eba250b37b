"""Demo scanners: at the school a serial scanner on a workstation (agent), a keyboard-wedge
handheld and a batch terminal, registered by the school's inventory operator. Tokens are not
shown (they are stored hashed): issue one on the registry page to run the agent.

Idempotent: scanners that exist (by label) are left alone."""

from access.models import Institution, User

from . import services
from .models import Device, DeviceKind

SCANNERS = (
    ("Сканер бухгалтерии (COM1)", DeviceKind.SERIAL,
     {"port": "/dev/serial/by-id/usb-Honeywell_1450g", "baud": 9600, "parity": "N", "terminator": "CR",
      "codepage": "ascii"}),
    ("ТСД Urovo DT40 (браузер)", DeviceKind.WEDGE, {"terminator": "LF", "codepage": "utf-8"}),
    ("ТСД Cipherlab 8000 (выгрузка)", DeviceKind.BATCH, {"terminator": "CRLF", "codepage": "cp1251"}),
)


def load_app_demo(progress=None) -> str | None:
    operator = User.objects.filter(username="school.inventory").first()
    if operator is None:
        return None
    membership = operator.memberships.select_related("institution").first()
    institution: Institution | None = membership.institution if membership else None
    if institution is None:
        return None
    made = 0
    for label, kind, settings in SCANNERS:
        if Device.objects.filter(institution=institution, label=label).exists():
            continue
        services.create_device(actor=operator, institution=institution, label=label, kind=kind, **settings)
        made += 1
    return f"{made} scanners registered at {institution}" if made else None
