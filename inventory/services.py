"""The one door for writes to the inventory register and its counts.

Each function takes the actor keyword-only, checks the capability (inventory.edit for the
register and the count's work, inventory.approve for the commission's approval), runs in one
transaction (joining its caller's), writes the register and its operation rows, posts the
ledger entry through the posting schemes (`inventory/data/posting_scheme.csv`: the amount key
is the asset's account, so the accounts are data, not code) and journals the action. A ledger
refusal (closed period, a ФЛК control) rolls the whole operation back: the register never
disagrees with the books.

Transfers between locations or responsible persons change no account, so they post nothing;
their record is the operation row and the action journal.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from access.errors import ControlError, ControlErrors, InvariantViolation
from access.models import Action, Institution
from access.roles import Capability
from access.services import log_action, require
from ledger import services as ledger_services
from ledger.drafts import EntryDraft
from ledger.schemes import Classification, SchemeAmount, entry_from_scheme

from . import barcodes
from .models import (
    Asset,
    AssetKind,
    AssetOperation,
    AssetStatus,
    CountItem,
    CountStatus,
    DepreciationNorm,
    DepreciationRun,
    InventoryCount,
    Location,
    OperationKind,
    ResponsiblePerson,
    ShortageDecision,
    SurplusRegistration,
    TiedGrant,
)

CENT = Decimal("0.01")
AMOUNTS_PER_ENTRY_MAX = 200  # each amount is two lines; the ledger takes at most 500 lines an entry
ASSETS_PER_RECEIPT_MAX = 5000  # one receipt document; an e-invoice of more is split by the supplier
INCOME_ACCOUNT_SURPLUS = "6360"  # documentation only: the scheme file says where surpluses go


def _money(value) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _classification(asset: Asset) -> Classification:
    return Classification(asset.specific, asset.administrator, asset.programme, asset.subprogramme,
                          asset.funding_source)


def _post(institution, actor, drafts: list[EntryDraft], source: str, capability: str, request=None) -> list[int]:
    entries = ledger_services.post_entries(institution=institution, actor=actor, drafts=drafts, request=request,
                                           source=source, capability=capability)
    return [e.id for e in entries]


def _drafts(institution, operation: str, date: dt.date, amounts: list[SchemeAmount], *, doc_type: str,
            doc_number: str, description: str) -> list[EntryDraft]:
    """One entry per AMOUNTS_PER_ENTRY_MAX amounts (an entry's line limit), numbered /2, /3…"""
    drafts = []
    for n, start in enumerate(range(0, len(amounts), AMOUNTS_PER_ENTRY_MAX), start=1):
        drafts.append(entry_from_scheme(
            institution=institution, operation=operation, date=date,
            amounts=amounts[start:start + AMOUNTS_PER_ENTRY_MAX], doc_type=doc_type,
            doc_number=doc_number if n == 1 else f"{doc_number[:56]}/{n}", description=description))
    return [d for d in drafts if d.lines]


def _operation(asset: Asset, kind: str, date: dt.date, actor, *, document: str = "", quantity=0, amount=0,
               entry_id=None, note: str = "", now=None, **locations) -> AssetOperation:
    return AssetOperation(institution_id=asset.institution_id, asset=asset, kind=kind, date=date,
                          document=document[:120], quantity=quantity, amount=amount, entry_id=entry_id,
                          note=note[:300], actor=actor, at=now or timezone.now(), **locations)


# --- reference of the register -------------------------------------------------------------------

def _required(errors: list, field: str, value) -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        errors.append(ControlError("required", _("%(field)s is required.") % {"field": field}, field=field))


def _raise(errors: list[ControlError]) -> None:
    if errors:
        raise ControlErrors(errors) if len(errors) > 1 else errors[0]


@transaction.atomic
def create_location(*, institution: Institution, actor, code: str, name: str, request=None) -> Location:
    require(actor, institution, Capability.EDIT_INVENTORY, request=request, action=Action.CREATE,
            object_type="inventory_location")
    errors: list = []
    _required(errors, "code", code)
    _required(errors, "name", name)
    if code and Location.objects.filter(institution=institution, code=code.strip()).exists():
        errors.append(ControlError("duplicate", _("A location with code %(code)s already exists.")
                                   % {"code": code}, field="code"))
    _raise(errors)
    location = Location.objects.create(institution=institution, code=code.strip(), name=name.strip())
    log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
               object_type="inventory_location", object_id=location.pk, details=f"{code} {name}")
    return location


@transaction.atomic
def create_responsible_person(*, institution: Institution, actor, full_name: str, iin: str = "", position: str = "",
                              request=None) -> ResponsiblePerson:
    from access.identifiers import has_valid_check_digit

    require(actor, institution, Capability.EDIT_INVENTORY, request=request, action=Action.CREATE,
            object_type="inventory_responsible")
    errors: list = []
    _required(errors, "full_name", full_name)
    if iin and not has_valid_check_digit(iin):
        errors.append(ControlError("iin_invalid", _("The IIN must be 12 digits with a valid check digit."),
                                   field="iin"))
    _raise(errors)
    person = ResponsiblePerson.objects.create(institution=institution, full_name=full_name.strip(), iin=iin,
                                              position=position.strip())
    log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
               object_type="inventory_responsible", object_id=person.pk, details=full_name)
    return person


@transaction.atomic
def create_grant(*, institution: Institution, actor, donor: str, agreement_number: str, agreement_date: dt.date,
                 request=None) -> TiedGrant:
    require(actor, institution, Capability.EDIT_INVENTORY, request=request, action=Action.CREATE,
            object_type="inventory_grant")
    errors: list = []
    _required(errors, "donor", donor)
    _required(errors, "agreement_number", agreement_number)
    _raise(errors)
    grant = TiedGrant.objects.create(institution=institution, donor=donor.strip(),
                                     agreement_number=agreement_number.strip(), agreement_date=agreement_date)
    log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
               object_type="inventory_grant", object_id=grant.pk, details=f"{donor} {agreement_number}")
    return grant


# --- receipt -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AssetInput:
    """One line of a receipt. A fixed asset of quantity n > 1 in units "шт" becomes n assets,
    each with its own inventory number and label (each object is counted on its own)."""

    name: str
    account: str
    specific: str
    location_id: int
    responsible_id: int
    cost: Decimal  # the line's total cost
    quantity: Decimal = Decimal(1)
    unit: str = "шт"
    classifier_code: str = ""
    inventory_number: str = ""  # blank: the label's serial
    barcode: str = ""  # blank: BIN + serial (inventory.barcodes)
    kind: str = ""  # blank: stock for accounts 13xx, fixed otherwise
    programme: str = ""
    subprogramme: str = ""
    funding_source: str = "budget_local"
    grant_id: int | None = None


def _kind_of(account: str, kind: str) -> str:
    return kind or (AssetKind.STOCK if account.startswith("13") else AssetKind.FIXED)


def _validate_inputs(institution: Institution, lines: Sequence[AssetInput], row_prefix: str = "lines") -> None:
    from ledger import reference

    ref = reference.snapshot()
    errors: list[ControlError] = []
    locations = set(Location.objects.filter(institution=institution).values_list("id", flat=True))
    persons = set(ResponsiblePerson.objects.filter(institution=institution).values_list("id", flat=True))
    grants = set(TiedGrant.objects.filter(institution=institution).values_list("id", flat=True))
    numbers = [line.inventory_number for line in lines if line.inventory_number]
    taken = set(Asset.objects.filter(institution=institution, inventory_number__in=numbers)
                .values_list("inventory_number", flat=True))
    codes = [line.barcode for line in lines if line.barcode]
    taken_codes = set(Asset.objects.filter(institution=institution, barcode__in=codes)
                      .values_list("barcode", flat=True))
    seen: set[str] = set()
    for i, line in enumerate(lines):
        f = f"{row_prefix}[{i}]."
        if not line.name.strip():
            errors.append(ControlError("required", _("The name is required."), field=f + "name"))
        if line.account not in ref.accounts:
            errors.append(ControlError("account_unknown", _("Account %(code)s is not in the chart of accounts.")
                                       % {"code": line.account}, field=f + "account"))
        if line.specific not in ref.specifics:
            errors.append(ControlError("specific_unknown", _("Specific %(code)s is not in the classification.")
                                       % {"code": line.specific}, field=f + "specific"))
        if line.funding_source not in ref.funding_sources:
            errors.append(ControlError("funding_unknown", _("Funding source %(code)s is unknown.")
                                       % {"code": line.funding_source}, field=f + "funding_source"))
        if line.location_id not in locations:
            errors.append(ControlError("location_unknown", _("Choose a location of this institution."),
                                       field=f + "location"))
        if line.responsible_id not in persons:
            errors.append(ControlError("responsible_unknown", _("Choose a responsible person of this institution."),
                                       field=f + "responsible"))
        if line.funding_source == "grant" and line.grant_id is None:
            errors.append(ControlError("grant_required", _("An asset financed by a tied grant must name the grant "
                                                           "(donor and agreement)."), field=f + "grant"))
        if line.grant_id is not None and line.grant_id not in grants:
            errors.append(ControlError("grant_unknown", _("Choose a grant of this institution."), field=f + "grant"))
        try:
            cost, quantity = Decimal(line.cost), Decimal(line.quantity)
        except (ArithmeticError, TypeError, ValueError):
            errors.append(ControlError("number_invalid", _("Cost and quantity must be numbers."), field=f + "cost"))
            continue
        if cost <= 0 or cost != _money(cost):
            errors.append(ControlError("cost_invalid", _("The cost must be positive, in tenge with at most two "
                                                         "decimals."), field=f + "cost"))
        if quantity <= 0:
            errors.append(ControlError("quantity_invalid", _("The quantity must be positive."),
                                       field=f + "quantity"))
        elif _kind_of(line.account, line.kind) == AssetKind.FIXED and quantity != quantity.to_integral_value():
            errors.append(ControlError("quantity_whole", _("Fixed assets are counted in whole units."),
                                       field=f + "quantity"))
        for value, taken_set, name in ((line.inventory_number, taken, "inventory_number"),
                                       (line.barcode, taken_codes, "barcode")):
            if not value:
                continue
            if value in taken_set or (name, value) in seen:
                errors.append(ControlError("duplicate", _("%(value)s is already used in this institution.")
                                           % {"value": value}, field=f + name))
            seen.add((name, value))
        if line.inventory_number and _kind_of(line.account, line.kind) == AssetKind.FIXED and quantity > 1:
            errors.append(ControlError("number_for_many", _("Give one inventory number per object: leave it "
                                                            "blank for several objects."),
                                       field=f + "inventory_number"))
    _raise(errors)


def _next_ids(n: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('inventory_asset', 'id')) FROM generate_series(1, %s)",
                       [n])
        return [r[0] for r in cursor.fetchall()]


def _split(line: AssetInput) -> list[tuple[Decimal, Decimal]]:
    """(quantity, cost) per asset the line makes: a fixed asset per unit, costs summing to the line's."""
    quantity, cost = Decimal(line.quantity), _money(line.cost)
    if _kind_of(line.account, line.kind) == AssetKind.STOCK or quantity == 1:
        return [(quantity, cost)]
    n = int(quantity)
    unit = _money(cost / n)
    parts = [(Decimal(1), unit) for _i in range(n - 1)]
    return parts + [(Decimal(1), cost - unit * (n - 1))]


def receive_assets(*, institution: Institution, actor, date: dt.date, document: str, lines: Sequence[AssetInput],
                   supplier_id: int | None = None, source: str = "receipt", request=None) -> list[Asset]:
    """Receipt of assets from a supplier: the register gains them and the ledger the entry
    D asset account, C 3210 payables to suppliers (scheme inventory.receipt), with the asset and
    the supplier on each line. All-or-nothing."""
    roles = require(actor, institution, Capability.EDIT_INVENTORY, request=request, action=Action.CREATE,
                    object_type="asset")
    if not lines:
        raise ControlError("lines_required", _("A receipt needs at least one line."), field="lines")
    if not (document or "").strip():
        raise ControlError("required", _("%(field)s is required.") % {"field": "document"}, field="document")
    _validate_inputs(institution, lines)
    parts = [(line, q, c) for line in lines for q, c in _split(line)]
    if len(parts) > ASSETS_PER_RECEIPT_MAX:
        raise ControlError("receipt_too_large", _("At most %(max)s assets per receipt.")
                           % {"max": ASSETS_PER_RECEIPT_MAX}, field="lines")
    with transaction.atomic():
        ids = _next_ids(len(parts))
        assets = []
        for asset_id, (line, quantity, cost) in zip(ids, parts, strict=True):
            assets.append(Asset(
                id=asset_id, institution=institution, name=line.name.strip()[:300],
                inventory_number=line.inventory_number or f"{asset_id:0{barcodes.SERIAL_DIGITS}d}",
                barcode=line.barcode or barcodes.make(institution.bin, asset_id),
                classifier_code=line.classifier_code, kind=_kind_of(line.account, line.kind), account=line.account,
                specific=line.specific, administrator=institution.administrator_code,
                programme=line.programme, subprogramme=line.subprogramme, funding_source=line.funding_source,
                grant_id=line.grant_id, location_id=line.location_id, responsible_id=line.responsible_id,
                quantity=quantity, unit=line.unit, cost=cost, acquired_on=date, supplier_id=supplier_id))
        Asset.objects.bulk_create(assets)
        amounts = [SchemeAmount(a.account, a.cost, _classification(a), counterparty_id=supplier_id, asset_id=a.id,
                                description=f"{a.inventory_number} {a.name}"[:300]) for a in assets]
        entry_ids = _post(institution, actor, _drafts(institution, "inventory.receipt", date, amounts,
                                                      doc_type=_("Receipt"), doc_number=document.strip()[:60],
                                                      description=_("Receipt of assets: %(doc)s")
                                                      % {"doc": document}),
                          f"inventory {source} {document}", Capability.EDIT_INVENTORY, request)
        now = timezone.now()
        AssetOperation.objects.bulk_create([
            _operation(a, OperationKind.RECEIPT, date, actor, document=document, quantity=a.quantity, amount=a.cost,
                       entry_id=entry_ids[i // AMOUNTS_PER_ENTRY_MAX], now=now, to_location_id=a.location_id,
                       to_responsible_id=a.responsible_id)
            for i, a in enumerate(assets)])
        log_action(actor=actor, action=Action.CREATE, request=request, institution=institution, roles=roles,
                   object_type="asset", object_id=f"{assets[0].id}..{assets[-1].id}",
                   details=f"{source} {document}: {len(assets)} assets, entries {entry_ids}")
    return assets


# --- transfer and write-off ------------------------------------------------------------------------

def _locked_asset(asset: Asset) -> Asset:
    locked = Asset.objects.select_for_update().get(pk=asset.pk)
    if locked.status != AssetStatus.IN_USE:
        raise ControlError("asset_written_off", _("Asset %(number)s is written off.")
                           % {"number": locked.inventory_number})
    # Between the freeze and the approval the count's book must stay what was counted.
    if InventoryCount.objects.filter(institution_id=locked.institution_id,
                                     status__in=[CountStatus.IN_PROGRESS, CountStatus.CLOSED],
                                     items__asset=locked).exists():
        raise ControlError("asset_in_count", _("Asset %(number)s is being counted; record the operation after the "
                                               "count is closed.") % {"number": locked.inventory_number})
    return locked


def transfer_asset(*, asset: Asset, actor, date: dt.date, document: str, location: Location | None = None,
                   responsible: ResponsiblePerson | None = None, request=None) -> Asset:
    """Move an asset to another location and/or responsible person (накладная на внутреннее
    перемещение). Changes no account, so it posts nothing."""
    institution = asset.institution
    roles = require(actor, institution, Capability.EDIT_INVENTORY, request=request, action=Action.EDIT,
                    object_type="asset")
    errors: list = []
    if location is None and responsible is None:
        errors.append(ControlError("transfer_empty", _("Choose a new location or a new responsible person."),
                                   field="location"))
    for obj, field in ((location, "location"), (responsible, "responsible")):
        if obj is not None and obj.institution_id != institution.id:
            errors.append(ControlError(f"{field}_unknown", _("Choose one of this institution's."), field=field))
    _required(errors, "document", document)
    _raise(errors)
    with transaction.atomic():
        locked = _locked_asset(asset)
        op = _operation(locked, OperationKind.TRANSFER, date, actor, document=document, quantity=locked.quantity,
                        from_location_id=locked.location_id, to_location_id=(location or locked.location).id,
                        from_responsible_id=locked.responsible_id,
                        to_responsible_id=(responsible or locked.responsible).id)
        if location is not None:
            locked.location = location
        if responsible is not None:
            locked.responsible = responsible
        locked.save(update_fields=["location", "responsible"])
        op.save()
        log_action(actor=actor, action=Action.EDIT, request=request, institution=institution, roles=roles,
                   object_type="asset", object_id=locked.pk,
                   details=f"transfer {document}: {op.from_location_id}/{op.from_responsible_id} → "
                           f"{op.to_location_id}/{op.to_responsible_id}")
    return locked


def _disposal_amounts(asset: Asset, quantity: Decimal, description: str) -> tuple[list[SchemeAmount], Decimal,
                                                                                  Decimal]:
    """Book cost and depreciation leaving with `quantity` of the asset (proportional for stock)."""
    if quantity == asset.quantity:
        cost, dep = asset.cost, asset.accumulated_depreciation
    else:
        cost = _money(asset.cost * quantity / asset.quantity)
        dep = _money(asset.accumulated_depreciation * quantity / asset.quantity)
    c = _classification(asset)
    amounts = [SchemeAmount(f"{asset.account}.book", cost - dep, c, asset_id=asset.id, description=description)]
    if dep:
        amounts.append(SchemeAmount(f"{asset.account}.depreciation", dep, c, asset_id=asset.id,
                                    description=description))
    return amounts, cost, dep


def write_off_asset(*, asset: Asset, actor, date: dt.date, document: str, reason: str,
                    quantity: Decimal | None = None, request=None) -> Asset:
    """Write an asset off (акт на списание): its accumulated depreciation closes against its
    cost (D 239x, C 23xx) and the rest goes to expenses (D 7130 for fixed assets, D 7060 for
    stock issued to use) under scheme inventory.write_off. Stock may be written off in part."""
    institution = asset.institution
    roles = require(actor, institution, Capability.EDIT_INVENTORY, request=request, action=Action.POST,
                    object_type="asset")
    errors: list = []
    _required(errors, "document", document)
    _required(errors, "reason", reason)
    _raise(errors)
    with transaction.atomic():
        locked = _locked_asset(asset)
        qty = locked.quantity if quantity is None else Decimal(quantity)
        if qty <= 0 or qty > locked.quantity or (locked.kind == AssetKind.FIXED and qty != locked.quantity):
            raise ControlError("quantity_invalid", _("Write off between 0 and %(max)s (a fixed asset only whole).")
                               % {"max": locked.quantity}, field="quantity")
        amounts, cost, dep = _disposal_amounts(locked, qty, f"{locked.inventory_number} {reason}"[:300])
        entry_ids = _post(institution, actor, _drafts(
            institution, "inventory.write_off", date, amounts, doc_type=_("Write-off"),
            doc_number=document.strip()[:60], description=_("Write-off of %(number)s %(name)s: %(reason)s")
            % {"number": locked.inventory_number, "name": locked.name, "reason": reason}),
            f"inventory write-off {document}", Capability.EDIT_INVENTORY, request)
        _reduce(locked, qty, cost, dep)
        _operation(locked, OperationKind.WRITE_OFF, date, actor, document=document, quantity=qty, amount=cost,
                   entry_id=entry_ids[0] if entry_ids else None, note=reason,
                   from_location_id=locked.location_id).save()
        log_action(actor=actor, action=Action.POST, request=request, institution=institution, roles=roles,
                   object_type="asset", object_id=locked.pk, details=f"write-off {document} {qty}: {reason}")
    return locked


def _reduce(asset: Asset, quantity: Decimal, cost: Decimal, dep: Decimal) -> None:
    asset.quantity -= quantity
    asset.cost -= cost
    asset.accumulated_depreciation -= dep
    if asset.quantity == 0:
        asset.status = AssetStatus.WRITTEN_OFF
    asset.save(update_fields=["quantity", "cost", "accumulated_depreciation", "status"])


# --- depreciation --------------------------------------------------------------------------------

def norms_on(day: dt.date) -> dict[str, DepreciationNorm]:
    rows = DepreciationNorm.objects.filter(valid_from__lte=day).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=day)).order_by("account", "valid_from")
    return {row.account: row for row in rows}


def run_depreciation(*, institution: Institution, actor, year: int, month: int, request=None) -> DepreciationRun:
    """Monthly straight-line depreciation (R18: rates are dated norms): each fixed asset in use,
    acquired before the month, is depreciated by cost × annual rate / 12 (rounded to the tiyn,
    never beyond its cost). The entry, dated the month's last day, is D 7030, C 239x by
    scheme inventory.depreciation, one line pair per account, specific, programme and funding.
    A month is depreciated once (unique run per month)."""
    roles = require(actor, institution, Capability.EDIT_INVENTORY, request=request, action=Action.POST,
                    object_type="depreciation")
    first = dt.date(year, month, 1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    norms = norms_on(last)
    with transaction.atomic():
        if DepreciationRun.objects.filter(institution=institution, year=year, month=month).exists():
            raise ControlError("depreciation_done", _("Depreciation for %(period)s is already posted.")
                               % {"period": f"{year}-{month:02d}"})
        assets = list(Asset.objects.select_for_update().filter(
            institution=institution, kind=AssetKind.FIXED, status=AssetStatus.IN_USE, acquired_on__lt=first,
            account__in=list(norms)).order_by("id"))
        groups: dict[tuple, Decimal] = defaultdict(Decimal)
        changed = []
        for asset in assets:
            norm = norms[asset.account]
            amount = min(_money(asset.cost * norm.annual_rate_percent / 100 / 12),
                         asset.cost - asset.accumulated_depreciation)
            if amount <= 0:
                continue
            asset.accumulated_depreciation += amount
            changed.append(asset)
            groups[(asset.account, _classification(asset))] += amount
        amounts = [SchemeAmount(account, total, c) for (account, c), total in sorted(
            groups.items(), key=lambda kv: (kv[0][0], kv[0][1].specific, kv[0][1].programme,
                                            kv[0][1].subprogramme, kv[0][1].funding_source))]
        entry_ids = _post(institution, actor, _drafts(
            institution, "inventory.depreciation", last, amounts, doc_type=_("Depreciation"),
            doc_number=f"AM-{year}-{month:02d}", description=_("Depreciation of fixed assets for %(period)s")
            % {"period": f"{month:02d}.{year}"}), f"inventory depreciation {year}-{month:02d}",
            Capability.EDIT_INVENTORY, request) if amounts else []
        Asset.objects.bulk_update(changed, ["accumulated_depreciation"], batch_size=1000)
        now = timezone.now()
        AssetOperation.objects.bulk_create([
            _operation(a, OperationKind.DEPRECIATION, last, actor, document=f"AM-{year}-{month:02d}",
                       amount=a.accumulated_depreciation, entry_id=entry_ids[0] if entry_ids else None, now=now)
            for a in changed], batch_size=1000)
        total = sum(groups.values(), Decimal(0))
        run = DepreciationRun.objects.create(institution=institution, year=year, month=month, total=total,
                                             assets=len(changed), entry_id=entry_ids[0] if entry_ids else None,
                                             actor=actor, at=now)
        log_action(actor=actor, action=Action.POST, request=request, institution=institution, roles=roles,
                   object_type="depreciation", object_id=run.pk,
                   details=f"{year}-{month:02d}: {len(changed)} assets, {total}")
    return run


# --- counts --------------------------------------------------------------------------------------

def create_count(*, institution: Institution, actor, number: str, order_date: dt.date, count_date: dt.date,
                 chairman: str, members: Sequence[str], locations: Sequence[int] = (),
                 responsible: Sequence[int] = (), accounts: Sequence[str] = (),
                 shortage_decision: str = ShortageDecision.RECOVER, request=None) -> InventoryCount:
    """An inventory order: date, commission (chairman and members), scope by locations,
    responsible persons and accounts (empty: all)."""
    require(actor, institution, Capability.EDIT_INVENTORY, request=request, action=Action.CREATE,
            object_type="inventory_count")
    errors: list = []
    _required(errors, "number", number)
    _required(errors, "chairman", chairman)
    members = [m.strip() for m in members if m and m.strip()]
    if len(members) < 2:
        errors.append(ControlError("commission_small", _("The commission needs at least two members besides the "
                                                         "chairman."), field="members"))
    if count_date < order_date:
        errors.append(ControlError("count_before_order", _("The count cannot start before the order is dated."),
                                   field="count_date"))
    if number and InventoryCount.objects.filter(institution=institution, number=number.strip()).exists():
        errors.append(ControlError("duplicate", _("%(value)s is already used in this institution.")
                                   % {"value": number}, field="number"))
    known = set(Location.objects.filter(institution=institution, id__in=locations).values_list("id", flat=True))
    if set(locations) - known:
        errors.append(ControlError("location_unknown", _("Choose a location of this institution."),
                                   field="locations"))
    known = set(ResponsiblePerson.objects.filter(institution=institution, id__in=responsible)
                .values_list("id", flat=True))
    if set(responsible) - known:
        errors.append(ControlError("responsible_unknown", _("Choose a responsible person of this institution."),
                                   field="responsible"))
    if shortage_decision not in ShortageDecision.values:
        errors.append(ControlError("decision_invalid", _("Unknown decision."), field="shortage_decision"))
    _raise(errors)
    with transaction.atomic():
        count = InventoryCount.objects.create(
            institution=institution, number=number.strip(), order_date=order_date, count_date=count_date,
            chairman=chairman.strip(), members=members, scope_locations=sorted(set(locations)),
            scope_responsible=sorted(set(responsible)), scope_accounts=sorted(set(accounts)),
            shortage_decision=shortage_decision, created_by=actor)
        log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
                   object_type="inventory_count", object_id=count.pk, details=f"order {number} {count_date}")
    return count


def _locked_count(count: InventoryCount, *expected: str) -> InventoryCount:
    locked = InventoryCount.objects.select_for_update().get(pk=count.pk)
    if locked.status not in expected:
        raise ControlError("count_status", _("The count is %(status)s; this step is not possible now.")
                           % {"status": locked.get_status_display().lower()})
    return locked


def start_count(*, count: InventoryCount, actor, request=None) -> InventoryCount:
    """Start the count: the book quantities, locations, МОЛ and values of every asset in scope
    are frozen into the count's items, and scans are accepted from now on."""
    institution = count.institution
    require(actor, institution, Capability.EDIT_INVENTORY, request=request, action=Action.EDIT,
            object_type="inventory_count")
    with transaction.atomic():
        locked = _locked_count(count, CountStatus.DRAFT)
        where = ["institution_id = %s", "status = 'in_use'"]
        params: list = [institution.id]
        for column, values in (("location_id", locked.scope_locations), ("responsible_id", locked.scope_responsible),
                               ("account", locked.scope_accounts)):
            if values:
                where.append(f"{column} = ANY(%s)")
                params.append(list(values))
        with connection.cursor() as cursor:
            # One statement: the asset rows are locked FOR SHARE while read, so an operation in
            # flight finishes first and none can slip between the freeze and the status change.
            cursor.execute(
                "INSERT INTO inventory_countitem (count_id, asset_id, location_id, responsible_id, "
                "expected_quantity, book_cost, book_depreciation, found_quantity, scans, shortage_decision) "
                f"SELECT %s, id, location_id, responsible_id, quantity, cost, accumulated_depreciation, 0, 0, '' "
                f"FROM (SELECT * FROM inventory_asset WHERE {' AND '.join(where)} FOR SHARE) a",
                [locked.id, *params])
            frozen = cursor.rowcount
        if frozen == 0:
            raise ControlError("count_empty", _("No asset is in the scope of this order."))
        locked.status = CountStatus.IN_PROGRESS
        locked.started_at = timezone.now()
        locked.save(update_fields=["status", "started_at"])
        log_action(actor=actor, action=Action.EDIT, request=request, institution=institution,
                   object_type="inventory_count", object_id=locked.pk, details=f"started: {frozen} items frozen")
    return locked


def set_counted_quantity(*, count: InventoryCount, actor, asset_id: int, quantity: Decimal | None,
                         request=None) -> CountItem:
    """The commission's measured quantity of an item (stock weighed, measured or counted by
    hand), which replaces what the scans found; None returns to the scans."""
    require(actor, count.institution, Capability.EDIT_INVENTORY, request=request, action=Action.EDIT,
            object_type="inventory_count")
    with transaction.atomic():
        _locked_count(count, CountStatus.IN_PROGRESS)
        item = CountItem.objects.select_for_update().filter(count=count, asset_id=asset_id).first()
        if item is None:
            raise ControlError("item_unknown", _("This asset is not in the count."), field="asset")
        if quantity is not None and Decimal(quantity) < 0:
            raise ControlError("quantity_invalid", _("The quantity must not be negative."), field="quantity")
        item.counted_quantity = None if quantity is None else Decimal(quantity)
        item.save(update_fields=["counted_quantity"])
        log_action(actor=actor, action=Action.EDIT, request=request, institution=count.institution,
                   object_type="inventory_count", object_id=count.pk, details=f"asset {asset_id} counted {quantity}")
    return item


def register_surplus(*, count: InventoryCount, actor, code: str, name: str, account: str, specific: str,
                     location: Location, responsible: ResponsiblePerson, value: Decimal, quantity: Decimal = Decimal(1),
                     request=None) -> SurplusRegistration:
    """The commission identifies a surplus (an unknown code, or an object found without a
    label): what it is, where it stays and its value. It is taken on the books at approval."""
    institution = count.institution
    require(actor, institution, Capability.EDIT_INVENTORY, request=request, action=Action.EDIT,
            object_type="inventory_count")
    errors: list = []
    _required(errors, "code", code)
    _required(errors, "name", name)
    if location.institution_id != institution.id or responsible.institution_id != institution.id:
        errors.append(ControlError("location_unknown", _("Choose one of this institution's."), field="location"))
    try:
        value = Decimal(value)
        if value <= 0 or value != _money(value):
            raise ValueError
    except (ArithmeticError, TypeError, ValueError):
        errors.append(ControlError("cost_invalid", _("The cost must be positive, in tenge with at most two "
                                                     "decimals."), field="value"))
    _raise(errors)
    with transaction.atomic():
        locked = _locked_count(count, CountStatus.IN_PROGRESS, CountStatus.CLOSED)
        if SurplusRegistration.objects.filter(count=locked, code=code.strip()).exists():
            raise ControlError("duplicate", _("%(value)s is already used in this institution.") % {"value": code},
                               field="code")
        surplus = SurplusRegistration.objects.create(
            count=locked, code=code.strip(), name=name.strip(), account=account, specific=specific, location=location,
            responsible=responsible, quantity=Decimal(quantity), value=value)
        log_action(actor=actor, action=Action.EDIT, request=request, institution=institution,
                   object_type="inventory_count", object_id=count.pk, details=f"surplus {code}: {name} {value}")
    return surplus


def set_shortage_decision(*, count: InventoryCount, actor, asset_id: int, decision: str, request=None) -> CountItem:
    """Per shortage: recover from the МОЛ (D 1253) or write off by decision (D 7130)."""
    require(actor, count.institution, Capability.APPROVE_INVENTORY, request=request, action=Action.EDIT,
            object_type="inventory_count")
    if decision not in ShortageDecision.values:
        raise ControlError("decision_invalid", _("Unknown decision."), field="decision")
    with transaction.atomic():
        _locked_count(count, CountStatus.CLOSED)
        updated = CountItem.objects.filter(count=count, asset_id=asset_id).update(shortage_decision=decision)
        if not updated:
            raise ControlError("item_unknown", _("This asset is not in the count."), field="asset")
        log_action(actor=actor, action=Action.EDIT, request=request, institution=count.institution,
                   object_type="inventory_count", object_id=count.pk, details=f"asset {asset_id}: {decision}")
    return CountItem.objects.get(count=count, asset_id=asset_id)


def close_count(*, count: InventoryCount, actor, request=None) -> InventoryCount:
    """Close the count: scans stop (a scan in flight finishes first: it holds the count FOR
    SHARE), and the inventory list and collation statement become final."""
    require(actor, count.institution, Capability.EDIT_INVENTORY, request=request, action=Action.EDIT,
            object_type="inventory_count")
    with transaction.atomic():
        locked = _locked_count(count, CountStatus.IN_PROGRESS)
        locked.status = CountStatus.CLOSED
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at"])
        log_action(actor=actor, action=Action.EDIT, request=request, institution=count.institution,
                   object_type="inventory_count", object_id=locked.pk, details="closed")
    return locked


def approve_count(*, count: InventoryCount, actor, date: dt.date | None = None, request=None) -> InventoryCount:
    """The commission's results approved (inventory.approve) and posted, dated `date` (default:
    the count date): registered surpluses become assets (D asset, C 6360 other income, scheme
    inventory.surplus); stock found beyond the book is added at its unit book cost; each
    shortage leaves the register at book value, recovered from the МОЛ (D 1253, scheme
    inventory.shortage_recover) or written off (D 7130, inventory.shortage_write_off), its
    depreciation closed against cost. Unidentified unknown codes are not posted."""
    from .statements import collation

    institution = count.institution
    roles = require(actor, institution, Capability.APPROVE_INVENTORY, request=request, action=Action.APPROVE,
                    object_type="inventory_count")
    with transaction.atomic():
        locked = _locked_count(count, CountStatus.CLOSED)
        day = date or locked.count_date
        result = collation(locked)
        drafts: list[EntryDraft] = []
        doc = f"INV-{locked.number}"[:50]
        now = timezone.now()
        operations: list[AssetOperation] = []
        # Shortages, by decision.
        by_decision: dict[str, list[SchemeAmount]] = defaultdict(list)
        reductions = []
        for row in result.shortages:
            asset = Asset.objects.select_for_update().get(pk=row.asset_id)
            amounts, cost, dep = _disposal_amounts(asset, row.quantity, f"{asset.inventory_number} {asset.name}"[:300])
            decision = row.decision
            if decision == ShortageDecision.RECOVER:
                amounts = [SchemeAmount(a.key, a.amount, a.classification, asset_id=a.asset_id,
                                        description=f"{a.description[:200]} — {row.responsible}"[:300])
                           for a in amounts]
            by_decision[decision].extend(amounts)
            reductions.append((asset, row.quantity, cost, dep, decision))
        for decision, amounts in by_decision.items():
            operation = "inventory.shortage_recover" if decision == ShortageDecision.RECOVER \
                else "inventory.shortage_write_off"
            drafts += _drafts(institution, operation, day, amounts, doc_type=_("Collation statement"),
                              doc_number=f"{doc}-{'R' if decision == ShortageDecision.RECOVER else 'W'}",
                              description=_("Shortages of count %(number)s") % {"number": locked.number})
        # Stock surpluses on existing lines.
        surplus_amounts: list[SchemeAmount] = []
        additions = []
        for row in result.surpluses:
            if row.asset_id is None:
                continue
            asset = Asset.objects.select_for_update().get(pk=row.asset_id)
            surplus_amounts.append(SchemeAmount(asset.account, row.value, _classification(asset), asset_id=asset.id,
                                                description=f"{asset.inventory_number} {asset.name}"[:300]))
            additions.append((asset, row.quantity, row.value))
        # Registered surpluses: new assets.
        registrations = list(locked.surpluses.select_related("location", "responsible").order_by("id"))
        new_assets = []
        if registrations:
            ids = _next_ids(len(registrations))
            for asset_id, reg in zip(ids, registrations, strict=True):
                barcode = reg.code if not Asset.objects.filter(institution=institution, barcode=reg.code).exists() \
                    and barcodes.owner_bin(reg.code) in (None, institution.bin) else barcodes.make(institution.bin,
                                                                                                     asset_id)
                new_assets.append(Asset(
                    id=asset_id, institution=institution, inventory_number=f"{asset_id:0{barcodes.SERIAL_DIGITS}d}",
                    name=reg.name, kind=_kind_of(reg.account, ""), account=reg.account, specific=reg.specific,
                    administrator=institution.administrator_code, programme=_default_programme(locked)[0],
                    subprogramme=_default_programme(locked)[1], funding_source="budget_local",
                    location=reg.location, responsible=reg.responsible, quantity=reg.quantity, cost=reg.value,
                    acquired_on=day, barcode=barcode))
            Asset.objects.bulk_create(new_assets)
            for reg, asset in zip(registrations, new_assets, strict=True):
                reg.asset = asset
                reg.save(update_fields=["asset"])
                surplus_amounts.append(SchemeAmount(asset.account, asset.cost, _classification(asset),
                                                    asset_id=asset.id, description=f"{reg.code} {asset.name}"[:300]))
        drafts += _drafts(institution, "inventory.surplus", day, surplus_amounts, doc_type=_("Collation statement"),
                          doc_number=f"{doc}-S", description=_("Surpluses of count %(number)s")
                          % {"number": locked.number})
        entry_ids = _post(institution, actor, drafts, f"inventory count {locked.number}",
                          Capability.APPROVE_INVENTORY, request) if drafts else []
        for asset, qty, cost, dep, decision in reductions:
            _reduce(asset, qty, cost, dep)
            operations.append(_operation(asset, OperationKind.SHORTAGE, day, actor, document=doc, quantity=qty,
                                         amount=cost, note=decision, now=now))
        for asset, qty, value in additions:
            asset.quantity += qty
            asset.cost += value
            asset.save(update_fields=["quantity", "cost"])
            operations.append(_operation(asset, OperationKind.SURPLUS, day, actor, document=doc, quantity=qty,
                                         amount=value, now=now))
        for asset in new_assets:
            operations.append(_operation(asset, OperationKind.SURPLUS, day, actor, document=doc,
                                         quantity=asset.quantity, amount=asset.cost, now=now,
                                         to_location_id=asset.location_id, to_responsible_id=asset.responsible_id))
        AssetOperation.objects.bulk_create(operations)
        locked.status = CountStatus.APPROVED
        locked.approved_at = now
        locked.approved_by = actor
        locked.entry_ids = entry_ids
        locked.save(update_fields=["status", "approved_at", "approved_by", "entry_ids"])
        log_action(actor=actor, action=Action.APPROVE, request=request, institution=institution, roles=roles,
                   object_type="inventory_count", object_id=locked.pk,
                   details=f"approved: {len(result.shortages)} shortages, {len(surplus_amounts)} surpluses, "
                           f"entries {entry_ids}")
    return locked


def _default_programme(count: InventoryCount) -> tuple[str, str]:
    """The programme of the count's assets most of whose book value it holds (a surplus is
    classified like the assets it was found among)."""
    row = (CountItem.objects.filter(count=count).values_list("asset__programme", "asset__subprogramme")
           .order_by("-book_cost").first())
    if row is None:
        raise InvariantViolation(f"count {count.pk} has no items")
    return row
