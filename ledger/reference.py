"""A read-only snapshot of the ledger's reference data (chart, classification, funding
sources), cached per process.

Reference tables are small (hundreds of rows) and read on every posting; reading them once
per process and dropping the copy when any of them changes keeps the posting path to the
queries that matter. Another process's edit is seen after at most `TTL_SECONDS`; the
database triggers still refuse an account outside its validity in the meantime.
"""

import threading
import time
from dataclasses import dataclass, field

from django.db.models.signals import post_delete, post_save

from .models import Account, AccountSpecific, BudgetProgramme, FundingSource, Specific

TTL_SECONDS = 30


@dataclass(frozen=True)
class Reference:
    accounts: dict[str, Account]
    accounts_by_id: dict[int, Account]
    specifics: dict[str, Specific]
    programmes: dict[tuple[str, str, str], tuple[BudgetProgramme, ...]]
    funding_sources: dict[str, FundingSource]
    funding_by_id: dict[int, FundingSource]
    correspondence: dict[str, tuple[AccountSpecific, ...]] = field(default_factory=dict)

    def programme_valid(self, administrator: str, programme: str, subprogramme: str, day) -> bool:
        rows = self.programmes.get((administrator, programme, subprogramme), ())
        return any(row.is_valid_on(day) for row in rows)


_lock = threading.Lock()
_cached: tuple[float, Reference] | None = None


def load() -> Reference:
    accounts = list(Account.objects.all())
    specifics = list(Specific.objects.all())
    programmes: dict[tuple[str, str, str], list[BudgetProgramme]] = {}
    for row in BudgetProgramme.objects.all():
        programmes.setdefault((row.administrator, row.programme, row.subprogramme), []).append(row)
    funding = list(FundingSource.objects.all())
    correspondence: dict[str, list[AccountSpecific]] = {}
    for row in AccountSpecific.objects.select_related("account", "specific"):
        correspondence.setdefault(row.account.code, []).append(row)
    return Reference(
        accounts={a.code: a for a in accounts},
        accounts_by_id={a.id: a for a in accounts},
        specifics={s.code: s for s in specifics},
        programmes={k: tuple(v) for k, v in programmes.items()},
        funding_sources={f.code: f for f in funding},
        funding_by_id={f.id: f for f in funding},
        correspondence={k: tuple(v) for k, v in correspondence.items()},
    )


def snapshot() -> Reference:
    global _cached
    with _lock:
        now = time.monotonic()
        if _cached is None or now - _cached[0] > TTL_SECONDS:
            _cached = (now, load())
        return _cached[1]


def invalidate(**_kwargs) -> None:
    global _cached
    with _lock:
        _cached = None


for _model in (Account, Specific, BudgetProgramme, FundingSource, AccountSpecific):
    post_save.connect(invalidate, sender=_model, dispatch_uid=f"ref-{_model.__name__}-save")
    post_delete.connect(invalidate, sender=_model, dispatch_uid=f"ref-{_model.__name__}-delete")
