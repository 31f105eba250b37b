"""Posting schemes: how a sub-ledger's operation becomes a journal entry.

Payroll, financing and inventory never name accounts in code. They hand the ledger an
operation ("payroll.accrual") and its named amounts, each with its budget classification;
the scheme in force on the entry's date (ledger.SchemeLine, dated, per institution or for the
deployment) says which account is debited and which credited for each amount. The result is
an ordinary EntryDraft that goes through post_entries and every ФЛК control like any other.

Default schemes are data files, `<app>/data/posting_scheme.csv`, loaded by `load_schemes()`
(called by `manage.py load_reference` and the demo); after that an administrator edits them
in the reference-data admin by date.
"""

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.apps import apps
from django.db import transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from access.errors import ControlError

from .drafts import EntryDraft, LineDraft
from .models import RefStatus, SchemeLine

SCHEME_FILE = Path("data") / "posting_scheme.csv"
COLUMNS = ("operation", "amount_key", "debit_account", "credit_account", "specific",
           "valid_from", "valid_to", "description_ru", "description_kk", "source", "status")


@dataclass(frozen=True)
class Classification:
    """Budget classification of an amount: the analytic columns of a posting line."""

    specific: str
    administrator: str
    programme: str
    subprogramme: str
    funding_source: str


@dataclass(frozen=True)
class SchemeAmount:
    """One named amount of an operation, e.g. ("opv", 30 000.00) for an employee's pension
    contribution, with the classification and analytics its lines carry."""

    key: str
    amount: Decimal
    classification: Classification
    counterparty_id: int | None = None
    employee_id: int | None = None
    asset_id: int | None = None
    description: str = ""


def scheme_for(institution, operation: str, day: dt.date) -> dict[str, SchemeLine]:
    """The lines in force on `day` for `operation`, by amount key; an institution's own row
    wins over the deployment's."""
    # Later rows override earlier ones: deployment rows first, then the institution's own, each
    # by start date, so the last row seen per amount is the one in force.
    rows = (SchemeLine.objects
            .filter(operation=operation, valid_from__lte=day)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))
            .filter(Q(institution__isnull=True) | Q(institution=institution))
            .order_by(F("institution_id").asc(nulls_first=True), "valid_from"))
    chosen: dict[str, SchemeLine] = {}
    for row in rows:
        chosen[row.amount_key] = row
    return chosen


def entry_from_scheme(*, institution, operation: str, date: dt.date, amounts: Sequence[SchemeAmount],
                      doc_type: str, doc_number: str, description: str, basis: str = "",
                      kind: str = "regular", scheme: dict[str, SchemeLine] | None = None) -> EntryDraft:
    """The entry for one operation. Zero amounts make no lines; a key the scheme does not
    know is refused naming the operation and the key (a missing scheme is a configuration
    fault the accountant must see, never a silently smaller entry)."""
    if scheme is None:
        scheme = scheme_for(institution, operation, date)
    lines: list[LineDraft] = []
    for i, part in enumerate(amounts):
        if not part.amount:
            continue
        row = scheme.get(part.key)
        if row is None:
            raise ControlError(
                "scheme_missing",
                _("No posting scheme for operation %(operation)s, amount %(key)s on %(date)s; "
                  "an administrator sets it in the reference data.")
                % {"operation": operation, "key": part.key, "date": date.isoformat()},
                field=f"amounts[{i}].{part.key}")
        c = part.classification
        common = {
            "amount": part.amount, "specific": row.specific or c.specific, "administrator": c.administrator,
            "programme": c.programme, "subprogramme": c.subprogramme, "funding_source": c.funding_source,
            "counterparty_id": part.counterparty_id, "employee_id": part.employee_id, "asset_id": part.asset_id,
            "description": part.description or row.description,
        }
        lines.append(LineDraft(account=row.debit_account, side="D", **common))
        lines.append(LineDraft(account=row.credit_account, side="C", **common))
    return EntryDraft(date=date, doc_type=doc_type, doc_number=doc_number, description=description,
                      lines=tuple(lines), basis=basis, kind=kind)


def scheme_files() -> Iterable[Path]:
    for config in apps.get_app_configs():
        path = Path(config.path) / SCHEME_FILE
        if path.exists():
            yield path


def load_schemes(paths: Iterable[Path] | None = None) -> int:
    """Load the deployment's default schemes from the apps' data files, all-or-nothing.
    A row already present (same operation, amount and start date) is left as the
    administrator may have edited it. Returns the number of rows created."""
    created = 0
    errors: list[str] = []
    with transaction.atomic():
        for path in (scheme_files() if paths is None else paths):
            with path.open(encoding="utf-8", newline="") as handle:
                reader = csv.DictReader(handle)
                if tuple(reader.fieldnames or ()) != COLUMNS:
                    errors.append(f"{path}: header must be {','.join(COLUMNS)}")
                    continue
                for number, row in enumerate(reader, start=2):
                    try:
                        values = {
                            "debit_account": row["debit_account"], "credit_account": row["credit_account"],
                            "specific": row["specific"], "valid_to": dt.date.fromisoformat(row["valid_to"])
                            if row["valid_to"] else None,
                            "description_ru": row["description_ru"], "description_kk": row["description_kk"],
                            "source": row["source"], "status": row["status"] or RefStatus.UNVERIFIED,
                        }
                        _, made = SchemeLine.objects.get_or_create(
                            operation=row["operation"], amount_key=row["amount_key"], institution=None,
                            valid_from=dt.date.fromisoformat(row["valid_from"]), defaults=values)
                    except (ValueError, KeyError) as exc:
                        errors.append(f"{path}:{number}: {exc}")
                        continue
                    created += made
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise ValueError("posting schemes not loaded:\n" + "\n".join(errors))
    return created
