"""The one door for writes to financing data: plan imports (file or push), contracts and
their treasury registration, obligations, acceptance acts, payments, ЭМС contract imports,
treasury statements.

Every function checks the actor's capability, validates everything before writing, runs
in one transaction, locks what its decision reads (an advisory lock per institution and
classification for the plan controls, the contract row for its balance), feeds the ФЛК
controls FLC-FIN-001…005 with facts read under those locks, posts to the ledger through
the posting schemes (financing/data/posting_scheme.csv) and journals the action.
"""

import datetime as dt
import hashlib
import json
import secrets
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from access.errors import ControlError, ControlErrors, PermissionRefused
from access.identifiers import validate_bin
from access.models import Action, Institution, Outcome
from access.roles import Capability
from access.services import log_action, require
from esep.imports import Problems
from ledger import reference
from ledger import services as ledger_services
from ledger.models import Counterparty, JournalEntry
from ledger.schemes import Classification, SchemeAmount, entry_from_scheme
from rules import services as rules_services
from rules.engine import tiyn

from . import imports, queries
from .models import (
    MONTH_FIELDS,
    AcceptanceAct,
    Channel,
    Contract,
    ContractSource,
    ContractYear,
    DocumentKind,
    Obligation,
    Payment,
    PaymentKind,
    PlanDocument,
    PlanLine,
    PlanType,
    SendingSystem,
    StatementLine,
    TreasuryStatement,
)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
CONTRACT_YEARS_MAX = 3  # block-budget pilots (R22); other institutions sign one-year contracts
LOCK_SPACE = 0x46494E  # 'FIN': advisory locks of financing (institution+classification, institution+year)


def _lock(*parts) -> None:
    """Serialize decisions on one key (e.g. institution, year, specific) until commit."""
    key = ":".join(str(p) for p in parts)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_SPACE, key])


def _sha(data) -> str:
    return hashlib.sha256(data if isinstance(data, bytes) else data.encode()).hexdigest()


# -- plans ------------------------------------------------------------------------------------

def _canonical(plan: imports.PlanFile) -> str:
    """The document's content independent of its channel: the same plan sent as JSON and as
    XLSX has one hash."""
    return json.dumps({
        "document_id": plan.document_id, "kind": plan.kind, "year": plan.year, "number": plan.number,
        "date": plan.date.isoformat(),
        "lines": sorted([line.plan_type, *line.key, *map(str, line.months)] for line in plan.lines),
    }, ensure_ascii=False)


def import_plan(*, institution: Institution, actor, data: bytes, fmt: str = "json", channel: str = Channel.JSON,
                sender: str = "", request=None, document: dict | None = None) -> tuple[PlanDocument, bool]:
    """Import a financing plan or a certificate of change, all-or-nothing. Returns the
    version and whether it is new (False: this document id was accepted before with the
    same content; nothing is written). Raises ImportRefused listing every problem."""
    if channel != Channel.PUSH:
        require(actor, institution, Capability.EDIT_FINANCING, request=request, action=Action.CREATE,
                object_type="plan_document")
    problems = Problems()
    plan = imports.from_document(document, problems) if document is not None else imports.read(data, fmt, problems)
    if plan is not None:
        imports.check(plan, institution, problems)
    problems.raise_if_any()
    content = _sha(_canonical(plan))
    with transaction.atomic():
        _lock(institution.id, "plan", plan.year)
        existing = PlanDocument.objects.filter(institution=institution, document_id=plan.document_id).first()
        if existing is not None:
            if existing.content_sha256 == content:
                log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
                           object_type="plan_document", object_id=existing.pk, username=sender,
                           details=f"document {plan.document_id} received again: already version {existing.version}")
                return existing, False
            problems.add("FIN-IMP-ID", _("Document %(id)s was already accepted with other content (version "
                                         "%(version)s); a change needs a new certificate with its own id.")
                         % {"id": plan.document_id, "version": existing.version}, column="document_id",
                         value=plan.document_id)
            problems.raise_if_any()
        last = PlanDocument.objects.filter(institution=institution, year=plan.year).order_by("-version").first()
        if plan.kind == DocumentKind.PLAN and last is not None:
            problems.add("FIN-IMP-VERSION", _("The approved plan of %(year)s is already imported; changes come in "
                                              "certificates.") % {"year": plan.year}, column="kind", value=plan.kind)
        elif plan.kind != DocumentKind.PLAN and last is None:
            problems.add("FIN-IMP-VERSION", _("There is no approved plan of %(year)s to change; import the plan "
                                              "first.") % {"year": plan.year}, column="kind", value=plan.kind)
        if last is not None and plan.date < last.date:
            problems.add("FIN-IMP-DATE", _("The document is dated %(date)s, before the last version %(version)s "
                                           "dated %(last)s.") % {"date": plan.date.isoformat(), "version": last.version,
                                                                 "last": last.date.isoformat()},
                         column="date", value=plan.date.isoformat())
        if last is not None and plan.kind != DocumentKind.PLAN:
            current = queries.effective_plan(institution, plan.year, version=last.version)
            for line in plan.lines:
                before = current.get((line.plan_type, line.key), [ZERO] * 12)
                for m, (b, change) in enumerate(zip(before, line.months, strict=True), start=1):
                    if b + change < 0:
                        problems.add("FIN-IMP-NEGATIVE", _("The change %(change)s would leave %(after)s in month "
                                                           "%(month)s of line %(key)s: a plan cannot be negative.")
                                     % {"change": change, "after": b + change, "month": m, "key": ".".join(line.key)},
                                     sheet=line.sheet, row=line.row, column=line.columns[MONTH_FIELDS[m - 1]],
                                     value=change)
            try:
                rules_services.enforce("plan_certificate", {
                    "is_pilot": institution.is_block_budget_pilot, "day_of_month": plan.date.day,
                    "date": plan.date.isoformat()}, institution=institution, actor=actor, on_date=plan.date)
            except ControlError as refused:
                for one in getattr(refused, "errors", None) or [refused]:
                    problems.add(one.code, one.message, column="date", value=plan.date.isoformat())
        problems.raise_if_any()
        doc = PlanDocument.objects.create(
            institution=institution, document_id=plan.document_id, year=plan.year,
            version=(last.version + 1) if last else 1, kind=plan.kind, number=plan.number, date=plan.date,
            channel=channel, sender=(sender or plan.sender)[:150], content_sha256=content,
            lines_count=len(plan.lines), imported_by=actor if getattr(actor, "is_authenticated", False) else None)
        _copy_lines(doc, plan.lines)
        log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
                   object_type="plan_document", object_id=doc.pk, username=sender if actor is None else "",
                   details=f"{doc.year} v{doc.version} {doc.kind} № {doc.number} ({channel}, {len(plan.lines)} lines)")
    return doc, True


PLANLINE_COLUMNS = ("document_id", "plan_type", "administrator", "programme", "subprogramme", "specific",
                    *MONTH_FIELDS, "year_total")


def _copy_lines(doc: PlanDocument, lines) -> None:
    """COPY the lines in: a 10,000-line plan in ~0.3 s instead of ~1.5 s by INSERT; the CHECK
    constraints (year = sum of months, codes) still apply row by row."""
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {PlanLine._meta.db_table} ({', '.join(PLANLINE_COLUMNS)}) FROM STDIN") as copy:
            for line in lines:
                copy.write_row((doc.pk, line.plan_type, *line.key, *line.months, line.year))


def issue_sending_system(*, code: str, name: str, institutions) -> tuple[SendingSystem, str]:
    """Register a sending system (deployment administration: a management command or the
    shell) and return its token, shown once; only its SHA-256 is kept."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        system = SendingSystem.objects.create(code=code, name=name, token_sha256=_sha(token))
        system.institutions.set(institutions)
    return system, token


def system_for_token(token: str) -> SendingSystem | None:
    if not token:
        return None
    return SendingSystem.objects.filter(token_sha256=_sha(token), active=True).first()


def push_plan(*, system: SendingSystem, document, request=None) -> tuple[PlanDocument, bool]:
    """A pushed document: the institution is the one its BIN names, which the sending system
    must be allowed to send for."""
    bin_ = str(document.get("bin") or "") if isinstance(document, dict) else ""
    institution = system.institutions.filter(bin=bin_).first()
    if institution is None:
        log_action(actor=None, action=Action.CREATE, outcome=Outcome.REFUSED, request=request,
                   object_type="plan_document", username=f"system:{system.code}",
                   details=f"push for BIN {bin_[:12]} not allowed")
        raise PermissionRefused("FIN-PUSH-BIN", _("This sending system may not send plans for BIN %(bin)s.")
                                % {"bin": bin_[:12]}, field="bin")
    return import_plan(institution=institution, actor=None, data=b"", channel=Channel.PUSH,
                       sender=f"system:{system.code}", request=request, document=document)


# -- contracts ----------------------------------------------------------------------------------

def _money(value, field: str, errors: list[ControlError], *, positive: bool = True) -> Decimal | None:
    amount = imports.parse_amount(value)
    if amount is None or (positive and amount <= 0):
        errors.append(ControlError("amount_invalid", _("Enter a positive amount in tenge with at most two decimals."),
                                   field=field))
        return None
    return amount


def _raise(errors: list[ControlError]) -> None:
    if errors:
        raise ControlErrors(errors) if len(errors) > 1 else errors[0]


def _classification_errors(institution, administrator, programme, subprogramme, specific, day,
                           prefix: str = "") -> list[ControlError]:
    ref = reference.snapshot()
    errors = []
    if administrator != institution.administrator_code or not ref.programme_valid(administrator, programme,
                                                                                   subprogramme, day):
        errors.append(ControlError("programme_invalid", _("Programme %(code)s is not in the budget classification "
                                                          "of this institution on %(date)s.")
                                   % {"code": f"{administrator}.{programme}.{subprogramme}", "date": day.isoformat()},
                                   field=prefix + "programme"))
    spec = ref.specifics.get(specific)
    if spec is None or not spec.is_valid_on(day):
        errors.append(ControlError("specific_invalid", _("Specific %(code)s is not in the economic classification "
                                                         "on %(date)s.") % {"code": specific, "date": day.isoformat()},
                                   field=prefix + "specific"))
    return errors


def _counterparty(institution, actor, bin_: str, name: str, request=None, source: str = "manual") -> Counterparty:
    found = Counterparty.objects.filter(institution=institution, iin_bin=bin_).first()
    if found is not None:
        return found
    return ledger_services.create_counterparty(institution=institution, actor=actor, iin_bin=bin_,
                                               name=name or bin_, source=source, request=request)


def _contract_errors(institution, *, counterparty_bin, number, date, programme, specific, years, advance_percent,
                     prefix="") -> tuple[list[ControlError], dict]:
    errors: list[ControlError] = []
    clean: dict = {}
    try:
        validate_bin(str(counterparty_bin or ""))
        clean["bin"] = str(counterparty_bin)
    except Exception:  # noqa: BLE001 -- the validator's ValidationError, whatever its message
        errors.append(ControlError("bin_invalid", _("The supplier's BIN is not a valid BIN (12 digits with a valid "
                                                    "check digit)."), field=prefix + "counterparty_bin"))
    number = str(number or "").strip()
    if not number or len(number) > 60:
        errors.append(ControlError("number_invalid", _("Enter the contract number (up to 60 characters)."),
                                   field=prefix + "number"))
    elif Contract.objects.filter(institution=institution, number=number).exists():
        errors.append(ControlError("contract_exists", _("Contract %(number)s is already in the register.")
                                   % {"number": number}, field=prefix + "number"))
    clean["number"] = number
    if not isinstance(date, dt.date):
        try:
            date = dt.date.fromisoformat(str(date or ""))
        except ValueError:
            errors.append(ControlError("date_invalid", _("Enter a date, YYYY-MM-DD."), field=prefix + "date"))
            date = None
    clean["date"] = date
    parts = str(programme or "").split(".")
    if len(parts) != 3 or not all(len(p) == 3 and p.isdigit() for p in parts):
        errors.append(ControlError("programme_invalid", _("Programme is administrator.programme.subprogramme, e.g. "
                                                          "261.003.015."), field=prefix + "programme"))
        parts = None
    clean["programme"] = parts
    if date and parts:
        errors += _classification_errors(institution, *parts, str(specific or ""), date, prefix)
    clean["specific"] = str(specific or "")
    amounts: dict[int, Decimal] = {}
    for year, value in sorted((years or {}).items()):
        try:
            year = int(year)
        except (TypeError, ValueError):
            errors.append(ControlError("year_invalid", _("A contract year must be a number."), field=prefix + "years"))
            continue
        amount = _money(value, f"{prefix}years.{year}", errors)
        if amount is not None:
            amounts[year] = amount
    limit = CONTRACT_YEARS_MAX if institution.is_block_budget_pilot else 1
    if not amounts:
        errors.append(ControlError("years_missing", _("Enter the contract amount for at least one year."),
                                   field=prefix + "years"))
    elif date:
        wanted = list(range(date.year, date.year + len(amounts)))
        if sorted(amounts) != wanted or len(amounts) > limit:
            errors.append(ControlError(
                "years_invalid",
                _("Contract years run from the contract's year without gaps, at most %(max)s year(s) for this "
                  "institution (three for block-budget pilots).") % {"max": limit}, field=prefix + "years"))
    clean["years"] = amounts
    advance = imports.parse_amount(advance_percent if advance_percent not in (None, "") else "0")
    if advance is None or not ZERO <= advance <= 100:
        errors.append(ControlError("advance_invalid", _("The advance is a percentage from 0 to 100."),
                                   field=prefix + "advance_percent"))
    clean["advance"] = advance
    return errors, clean


def create_contract(*, institution: Institution, actor, counterparty_bin: str, counterparty_name: str = "",
                    number: str, date, programme: str, specific: str, years: dict, advance_percent=0,
                    funding_source: str = "budget_local", subject: str = "", treasury_number: str = "",
                    treasury_date=None, source: str = ContractSource.MANUAL, ems_id: str = "",
                    request=None) -> Contract:
    """Put a contract in the register. With a treasury registration it is registered at once
    (see register_contract)."""
    require(actor, institution, Capability.EDIT_FINANCING, request=request, action=Action.CREATE,
            object_type="contract")
    errors, c = _contract_errors(institution, counterparty_bin=counterparty_bin, number=number, date=date,
                                 programme=programme, specific=specific, years=years, advance_percent=advance_percent)
    if funding_source not in reference.snapshot().funding_sources:
        errors.append(ControlError("funding_invalid", _("Unknown funding source %(code)s.") % {"code": funding_source},
                                   field="funding_source"))
    _raise(errors)
    with transaction.atomic():
        counterparty = _counterparty(institution, actor, c["bin"], counterparty_name, request,
                                     source="ems" if source == ContractSource.EMS else "manual")
        contract = Contract.objects.create(
            institution=institution, counterparty=counterparty, number=c["number"], date=c["date"],
            subject=subject[:300], administrator=c["programme"][0], programme=c["programme"][1],
            subprogramme=c["programme"][2], specific=c["specific"], funding_source=funding_source,
            amount=sum(c["years"].values(), ZERO), advance_percent=c["advance"], source=source, ems_id=ems_id,
            created_by=actor)
        ContractYear.objects.bulk_create([
            ContractYear(contract=contract, year=y, year_index=y - c["date"].year, amount=a)
            for y, a in c["years"].items()])
        log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
                   object_type="contract", object_id=contract.pk,
                   details=f"№ {contract.number} {contract.date.isoformat()} {c['bin']} {contract.amount}")
        if treasury_number:
            register_contract(contract=contract, actor=actor, treasury_number=treasury_number,
                              treasury_date=treasury_date, request=request)
    return contract


def register_contract(*, contract: Contract, actor, treasury_number: str, treasury_date, request=None) -> Obligation:
    """Record the treasury's registration of a contract; the obligation for the contract's
    amount of the registration year is accepted on that date (FLC-FIN-001)."""
    institution = contract.institution
    require(actor, institution, Capability.EDIT_FINANCING, request=request, action=Action.EDIT,
            object_type="contract")
    errors = []
    if not str(treasury_number or "").strip():
        errors.append(ControlError("treasury_number_missing", _("Enter the treasury registration number."),
                                   field="treasury_number"))
    if not isinstance(treasury_date, dt.date):
        errors.append(ControlError("date_invalid", _("Enter a date, YYYY-MM-DD."), field="treasury_date"))
    elif treasury_date < contract.date:
        errors.append(ControlError("date_invalid", _("A contract is registered on or after the day it is signed."),
                                   field="treasury_date"))
    if contract.registered:
        errors.append(ControlError("contract_registered", _("The contract is already registered with the treasury."),
                                   field="treasury_number"))
    _raise(errors)
    year = contract.years.filter(year=treasury_date.year).first()
    if year is None:
        raise ControlError("year_invalid", _("The contract has no amount for %(year)s.") % {"year": treasury_date.year},
                           field="treasury_date")
    with transaction.atomic():
        Contract.objects.filter(pk=contract.pk).update(treasury_number=treasury_number.strip()[:60],
                                                       treasury_date=treasury_date)
        saved = contract.treasury_number, contract.treasury_date
        contract.treasury_number, contract.treasury_date = treasury_number.strip()[:60], treasury_date
        log_action(actor=actor, action=Action.EDIT, request=request, institution=institution,
                   object_type="contract", object_id=contract.pk,
                   details=f"treasury registration {contract.treasury_number} {treasury_date.isoformat()}")
        try:
            return accept_obligation(contract=contract, actor=actor, date=treasury_date, amount=year.amount,
                                     request=request)
        except ControlError:
            contract.treasury_number, contract.treasury_date = saved
            raise


def accept_obligation(*, contract: Contract, actor, date: dt.date, amount, request=None) -> Obligation:
    """Accept an obligation under a registered contract: within the contract's amount for
    the year and within the plan by obligations cumulative to the month (FLC-FIN-001)."""
    institution = contract.institution
    require(actor, institution, Capability.EDIT_FINANCING, request=request, action=Action.CREATE,
            object_type="obligation")
    errors: list[ControlError] = []
    amount = _money(amount, "amount", errors)
    if not contract.registered:
        errors.append(ControlError("contract_unregistered", _("The contract is not registered with the treasury."),
                                   field="contract"))
    _raise(errors)
    key = (contract.administrator, contract.programme, contract.subprogramme, contract.specific)
    with transaction.atomic():
        _lock(institution.id, "obligations", date.year, *key)
        year = contract.years.filter(year=date.year).first()
        taken = Obligation.objects.filter(contract=contract, date__year=date.year).aggregate(s=Sum("amount"))["s"] or 0
        if year is None or taken + amount > year.amount:
            raise ControlError("obligation_over_contract", _("Obligations under the contract for %(year)s would be "
                                                             "%(total)s, more than its amount for the year %(limit)s.")
                               % {"year": date.year, "total": taken + amount, "limit": year.amount if year else 0},
                               field="amount")
        plan = queries.plan_to_month(institution.id, date.year, date.month, key, PlanType.OBLIGATIONS, date)
        done = Obligation.objects.filter(
            institution=institution, administrator=key[0], programme=key[1], subprogramme=key[2], specific=key[3],
            date__year=date.year, date__month__lte=date.month).aggregate(s=Sum("amount"))["s"] or ZERO
        rules_services.enforce("obligation", {
            "month": f"{date.year}-{date.month:02d}", "programme": ".".join(key[:3]), "specific": key[3],
            "plan_to_date_tiyn": tiyn(plan), "obligations_to_date_tiyn": tiyn(done), "this_tiyn": tiyn(amount),
        }, institution=institution, actor=actor, on_date=date, request=request)
        obligation = Obligation.objects.create(
            institution=institution, contract=contract, date=date, amount=amount, administrator=key[0],
            programme=key[1], subprogramme=key[2], specific=key[3], created_by=actor)
        log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
                   object_type="obligation", object_id=obligation.pk,
                   details=f"contract № {contract.number}: {amount} on {date.isoformat()}")
    return obligation


def _classification(contract: Contract) -> Classification:
    return Classification(contract.specific, contract.administrator, contract.programme, contract.subprogramme,
                          contract.funding_source)


def _post(contract: Contract, actor, draft, source: str, request=None) -> int:
    (entry,) = ledger_services.post_entries(institution=contract.institution, actor=actor, drafts=[draft],
                                            request=request, source=source, capability=Capability.EDIT_FINANCING)
    return entry.id


def contract_state(contract: Contract) -> dict[str, Decimal]:
    acts = contract.acts.aggregate(a=Sum("amount"), o=Sum("advance_offset"))
    paid = {k: v or ZERO for k, v in contract.payments.values_list("kind").annotate(s=Sum("amount"))}
    advances = paid.get(PaymentKind.ADVANCE, ZERO)
    offset = acts["o"] or ZERO
    accepted = acts["a"] or ZERO
    settled = paid.get(PaymentKind.SETTLEMENT, ZERO)
    return {"accepted": accepted, "advances": advances, "offset": offset, "advance_outstanding": advances - offset,
            "settled": settled, "paid": advances + settled, "payable": accepted - offset - settled,
            "unpaid": contract.amount - advances - settled}


def advance_offset(contract: Contract, amount: Decimal, state: dict) -> Decimal:
    """The part of the advance offset on an act: the act's share of the contract amount times
    the advances paid (proportional offset, R22), never more than is outstanding; the act
    that completes the contract clears what is left."""
    outstanding = state["advance_outstanding"]
    if outstanding <= 0:
        return ZERO
    if state["accepted"] + amount >= contract.amount:
        return min(outstanding, amount)
    share = (amount * state["advances"] / contract.amount).quantize(CENT, rounding=ROUND_HALF_UP)
    return min(share, outstanding, amount)


def record_act(*, contract: Contract, actor, number: str, date: dt.date, amount, request=None) -> AcceptanceAct:
    """An acceptance act: D expense or asset / C 3210 for the act; D 3210 / C 1270 for the
    advance offset on it (scheme financing.acceptance)."""
    institution = contract.institution
    require(actor, institution, Capability.EDIT_FINANCING, request=request, action=Action.CREATE,
            object_type="acceptance_act")
    errors: list[ControlError] = []
    amount = _money(amount, "amount", errors)
    number = str(number or "").strip()
    if not number or len(number) > 60:
        errors.append(ControlError("number_invalid", _("Enter the act number (up to 60 characters)."), field="number"))
    if not contract.registered:
        errors.append(ControlError("contract_unregistered", _("The contract is not registered with the treasury."),
                                   field="contract"))
    elif date < contract.date:
        errors.append(ControlError("date_invalid", _("An act is dated on or after the contract."), field="date"))
    _raise(errors)
    with transaction.atomic():
        contract = Contract.objects.select_for_update().get(pk=contract.pk)
        if contract.acts.filter(number=number).exists():
            raise ControlError("act_exists", _("Act %(number)s is already recorded under this contract.")
                               % {"number": number}, field="number")
        state = contract_state(contract)
        if state["accepted"] + amount > contract.amount:
            raise ControlError("act_over_contract", _("Acts would total %(total)s, more than the contract amount "
                                                      "%(amount)s.") % {"total": state["accepted"] + amount,
                                                                        "amount": contract.amount}, field="amount")
        offset = advance_offset(contract, amount, state)
        parts = [SchemeAmount(contract.specific, amount, _classification(contract),
                              counterparty_id=contract.counterparty_id,
                              description=f"Акт № {number}")]
        if offset:
            parts.append(SchemeAmount("advance_offset", offset, _classification(contract),
                                      counterparty_id=contract.counterparty_id,
                                      description=f"Зачёт аванса по акту № {number}"))
        draft = entry_from_scheme(institution=institution, operation="financing.acceptance", date=date, amounts=parts,
                                  doc_type="Акт выполненных работ", doc_number=number[:60],
                                  description=f"Акт № {number} по договору № {contract.number}",
                                  basis=f"Договор № {contract.number} от {contract.date:%d.%m.%Y}")
        entry_id = _post(contract, actor, draft, f"acceptance act {number}", request)
        act = AcceptanceAct.objects.create(institution=institution, contract=contract, number=number, date=date,
                                           amount=amount, advance_offset=offset, entry_id=entry_id, created_by=actor)
        log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
                   object_type="acceptance_act", object_id=act.pk,
                   details=f"contract № {contract.number}: act {number} {amount}, advance offset {offset}")
    return act


def payment_facts(contract: Contract, date: dt.date, amount: Decimal) -> dict:
    """Facts of FLC-FIN-002 and FLC-FIN-003 for a payment (read under the caller's locks)."""
    key = (contract.administrator, contract.programme, contract.subprogramme, contract.specific)
    plan = queries.plan_to_month(contract.institution_id, date.year, date.month, key, PlanType.PAYMENTS, date)
    paid = Payment.objects.filter(
        institution_id=contract.institution_id, contract__administrator=key[0], contract__programme=key[1],
        contract__subprogramme=key[2], contract__specific=key[3], date__year=date.year,
        date__month__lte=date.month).aggregate(s=Sum("amount"))["s"] or ZERO
    contract_paid = contract.payments.aggregate(s=Sum("amount"))["s"] or ZERO
    return {
        "month": f"{date.year}-{date.month:02d}", "programme": ".".join(key[:3]), "specific": key[3],
        "plan_to_date_tiyn": tiyn(plan), "payments_to_date_tiyn": tiyn(paid), "this_tiyn": tiyn(amount),
        "contract": contract.treasury_number or contract.number, "contract_amount_tiyn": tiyn(contract.amount),
        "contract_paid_tiyn": tiyn(contract_paid),
    }


def make_payment(*, contract: Contract, actor, number: str, date: dt.date, amount, kind: str = PaymentKind.SETTLEMENT,
                 request=None) -> Payment:
    """A treasury payment order under a registered contract: within the plan by payments
    cumulative to the month (FLC-FIN-002) and the contract's unused balance (FLC-FIN-003).
    An advance is limited to the contract's advance percentage; a settlement to what the
    acts left payable. Posted D 1270 (advance) or D 3210 (settlement) / C 6010 or 6020."""
    institution = contract.institution
    require(actor, institution, Capability.EDIT_FINANCING, request=request, action=Action.CREATE,
            object_type="payment")
    errors: list[ControlError] = []
    amount = _money(amount, "amount", errors)
    number = str(number or "").strip()
    if not number or len(number) > 60:
        errors.append(ControlError("number_invalid", _("Enter the payment order number (up to 60 characters)."),
                                   field="number"))
    if kind not in PaymentKind.values:
        errors.append(ControlError("kind_invalid", _("The payment is an advance or a settlement."), field="kind"))
    if not contract.registered:
        errors.append(ControlError("contract_unregistered", _("The contract is not registered with the treasury: "
                                                              "payments are made under registered contracts."),
                                   field="contract"))
    _raise(errors)
    key = (contract.administrator, contract.programme, contract.subprogramme, contract.specific)
    with transaction.atomic():
        _lock(institution.id, "payments", date.year, *key)
        contract = Contract.objects.select_for_update().get(pk=contract.pk)
        if Payment.objects.filter(institution=institution, number=number, date=date).exists():
            raise ControlError("payment_exists", _("Payment order %(number)s of %(date)s is already recorded.")
                               % {"number": number, "date": date.isoformat()}, field="number")
        rules_services.enforce("payment", payment_facts(contract, date, amount), institution=institution,
                               actor=actor, on_date=date, request=request)
        state = contract_state(contract)
        if kind == PaymentKind.ADVANCE:
            limit = (contract.amount * contract.advance_percent / 100).quantize(CENT) - state["advances"]
            if amount > limit:
                raise ControlError("advance_over_limit", _("The advance may be at most %(percent)s%% of the contract: "
                                                           "%(limit)s is left.")
                                   % {"percent": contract.advance_percent, "limit": max(limit, ZERO)}, field="amount")
        elif amount > state["payable"]:
            raise ControlError("payment_over_payable", _("Accepted acts leave %(payable)s to pay under the contract; "
                                                         "an earlier payment is an advance.")
                               % {"payable": state["payable"]}, field="amount")
        key_name = kind + ("_capital" if contract.specific.startswith("4") else "")
        draft = entry_from_scheme(
            institution=institution, operation="financing.payment", date=date,
            amounts=[SchemeAmount(key_name, amount, _classification(contract), counterparty_id=contract.counterparty_id,
                                  description=("Аванс" if kind == PaymentKind.ADVANCE else "Оплата")
                                  + f" по договору № {contract.number}")],
            doc_type="Платежное поручение", doc_number=number[:60],
            description=f"Оплата по договору № {contract.number} ({contract.counterparty.name})",
            basis=f"Договор № {contract.number} от {contract.date:%d.%m.%Y}")
        entry_id = _post(contract, actor, draft, f"payment order {number}", request)
        payment = Payment.objects.create(institution=institution, contract=contract, number=number, date=date,
                                         amount=amount, kind=kind, entry_id=entry_id, created_by=actor)
        log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
                   object_type="payment", object_id=payment.pk,
                   details=f"contract № {contract.number}: {kind} {amount} order {number} {date.isoformat()}")
    return payment


def check_year_start(*, institution: Institution, actor, year: int, request=None):
    """FLC-FIN-005 on 1 January of `year`: a block-budget pilot has no advances outstanding
    and no receivables. A warning: recorded, returned, nothing refused."""
    from ledger.queries import trial_balance

    day = dt.date(year, 1, 1)
    tb = trial_balance(institution.id, day, day)
    advances = receivables = ZERO
    for row in tb.rows:
        opening = row.opening_debit - row.opening_credit
        if row.code in ("1270",):
            advances += opening
        elif row.code.startswith("12"):
            receivables += opening
    return rules_services.enforce("period", {
        "is_pilot": institution.is_block_budget_pilot, "is_year_start": True, "as_of": day.isoformat(),
        "advances_tiyn": max(tiyn(advances), 0), "receivables_tiyn": max(tiyn(receivables), 0),
    }, institution=institution, actor=actor, on_date=day, request=request)


# -- ЭМС contracts ------------------------------------------------------------------------------

EMS_FORMAT = "esep.ems-contracts/1"


def import_ems_contracts(*, institution: Institution, actor, data: bytes, request=None) -> dict:
    """Contracts from the e-procurement system (docs/exchange/ems-contracts.md), all-or-nothing.
    A contract whose ЭМС id is already in the register is skipped (a file sent twice adds nothing)."""
    require(actor, institution, Capability.EDIT_FINANCING, request=request, action=Action.CREATE,
            object_type="contract")
    problems = Problems()
    doc = _json_file(data, problems)
    rows: list[tuple[int, dict]] = []
    if doc is not None:
        if not isinstance(doc, dict) or doc.get("format") != EMS_FORMAT:
            problems.add("EMS-FORMAT", _("The file is not an ЭМС contract export (format %(format)s).")
                         % {"format": EMS_FORMAT}, column="format", value=str(doc.get("format", ""))
                         if isinstance(doc, dict) else "")
        else:
            if str(doc.get("bin")) != institution.bin:
                problems.add("EMS-BIN", _("The export is for BIN %(bin)s, not for this institution (BIN %(ours)s).")
                             % {"bin": doc.get("bin"), "ours": institution.bin}, column="bin", value=doc.get("bin"))
            items = doc.get("contracts")
            if not isinstance(items, list) or not items:
                problems.add("EMS-EMPTY", _("The export lists no contracts."), column="contracts")
                items = []
            seen: dict[str, int] = {}
            for i, item in enumerate(items, start=1):
                if not isinstance(item, dict):
                    problems.add("EMS-FORMAT", _("Each contract is a JSON object."), row=i)
                    continue
                ems_id = str(item.get("ems_id") or "").strip()
                if not ems_id:
                    problems.add("EMS-FIELD", _("Required field %(field)s is missing.") % {"field": "ems_id"},
                                 row=i, column="ems_id")
                    continue
                if ems_id in seen:
                    problems.add("EMS-DUPLICATE", _("Contract %(id)s appears twice (first at %(first)s).")
                                 % {"id": ems_id, "first": seen[ems_id]}, row=i, column="ems_id", value=ems_id)
                    continue
                seen[ems_id] = i
                if Contract.objects.filter(institution=institution, ems_id=ems_id).exists():
                    continue
                errors, _clean = _contract_errors(
                    institution, counterparty_bin=item.get("supplier_bin"), number=item.get("number"),
                    date=item.get("date"), programme=item.get("programme"), specific=item.get("specific"),
                    years=item.get("amounts") if isinstance(item.get("amounts"), dict) else {},
                    advance_percent=item.get("advance_percent"))
                numbers = [r.get("number") for _n, r in rows]
                if item.get("number") in numbers:
                    errors.append(ControlError("contract_exists", _("Contract %(number)s is already in the register.")
                                               % {"number": item.get("number")}, field="number"))
                for error in errors:
                    problems.add(f"EMS-{error.code}".upper().replace("_", "-"), error.message, row=i,
                                 column=error.field or "", value=item.get((error.field or "").split(".")[0], ""))
                rows.append((i, item))
    problems.raise_if_any()
    created = []
    with transaction.atomic():
        for _i, item in rows:
            created.append(create_contract(
                institution=institution, actor=actor, counterparty_bin=str(item["supplier_bin"]),
                counterparty_name=str(item.get("supplier_name") or ""), number=str(item["number"]),
                date=dt.date.fromisoformat(item["date"]), programme=item["programme"], specific=item["specific"],
                years=item["amounts"], advance_percent=item.get("advance_percent") or 0,
                funding_source=item.get("funding_source") or "budget_local", subject=str(item.get("subject") or ""),
                source=ContractSource.EMS, ems_id=str(item["ems_id"]), request=request))
    return {"created": created, "skipped": len(seen) - len(created) if doc else 0}


def _json_file(data: bytes, problems: Problems):
    if imports._too_large(data, problems):
        return None
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        problems.add("FIN-IMP-ENCODING", _("The file is not UTF-8 text."))
    except json.JSONDecodeError as exc:
        problems.add("FIN-IMP-FORMAT", _("The file is not valid JSON: %(error)s at line %(line)s, column %(col)s.")
                     % {"error": exc.msg, "line": exc.lineno, "col": exc.colno}, row=exc.lineno)
    return None


# -- treasury statements ------------------------------------------------------------------------

STATEMENT_COLUMNS = ("statement_number", "statement_date", "bin", "payment_number", "payment_date", "amount",
                     "payee_bin", "specific")


def import_treasury_statement(*, institution: Institution, actor, data: bytes, request=None) -> TreasuryStatement:
    """A treasury statement of executed payments (docs/exchange/treasury-statement.md),
    all-or-nothing. Each line is matched to a payment (number, date, amount, payee) and to
    the ledger entry that posted it; a matched payment is marked executed. Unmatched lines
    are kept and listed. A file imported twice is one statement."""
    import csv

    require(actor, institution, Capability.EDIT_FINANCING, request=request, action=Action.CREATE,
            object_type="treasury_statement")
    problems = Problems()
    parsed: list[dict] = []
    header = None
    if not imports._too_large(data, problems):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            problems.add("FIN-IMP-ENCODING", _("The file is not UTF-8 text."))
            text = None
        if text is not None:
            reader = csv.reader(text.splitlines(), delimiter=";")
            header = next(reader, None)
            names = [h.strip().lower() for h in header or []]
            missing = [c for c in STATEMENT_COLUMNS if c not in names]
            for c in missing:
                problems.add("TRS-COLUMN", _("Column %(column)s is missing in the heading row.") % {"column": c},
                             row=1, column=c)
            if not missing:
                pos = {c: names.index(c) for c in STATEMENT_COLUMNS}
                seen = {}
                for r, row in enumerate(reader, start=2):
                    if not any(cell.strip() for cell in row):
                        continue
                    cell = {c: (row[i].strip() if i < len(row) else "") for c, i in pos.items()}
                    item = {"row": r, **cell}
                    for c in ("statement_date", "payment_date"):
                        try:
                            item[c] = dt.date.fromisoformat(cell[c])
                        except ValueError:
                            problems.add("TRS-DATE", _("A date is YYYY-MM-DD."), row=r, column=c, value=cell[c])
                    item["amount"] = imports.parse_amount(cell["amount"])
                    if item["amount"] is None or item["amount"] <= 0:
                        problems.add("TRS-AMOUNT", _("An amount must be a positive number of tenge with at most two "
                                                     "decimals."), row=r, column="amount", value=cell["amount"])
                    if cell["bin"] != institution.bin:
                        problems.add("TRS-BIN", _("The statement is for BIN %(bin)s, not for this institution (BIN "
                                                  "%(ours)s).") % {"bin": cell["bin"], "ours": institution.bin},
                                     row=r, column="bin", value=cell["bin"])
                    if not (len(cell["payee_bin"]) == 12 and cell["payee_bin"].isdigit()):
                        problems.add("TRS-PAYEE", _("The payee's BIN/IIN is 12 digits."), row=r, column="payee_bin",
                                     value=cell["payee_bin"])
                    if not cell["payment_number"]:
                        problems.add("TRS-NUMBER", _("Required field %(field)s is missing.")
                                     % {"field": "payment_number"}, row=r, column="payment_number")
                    dup = (cell["payment_number"], cell["payment_date"])
                    if dup in seen:
                        problems.add("TRS-DUPLICATE", _("Payment %(number)s appears twice (first at row %(first)s).")
                                     % {"number": cell["payment_number"], "first": seen[dup]}, row=r,
                                     column="payment_number", value=cell["payment_number"])
                    seen.setdefault(dup, r)
                    parsed.append(item)
                if not parsed and not problems:
                    problems.add("FIN-IMP-EMPTY", _("The file has no lines."))
                numbers = {(p["statement_number"], p["statement_date"]) for p in parsed}
                if len(numbers) > 1:
                    problems.add("TRS-STATEMENT", _("All lines of one file belong to one statement (number and date)."),
                                 column="statement_number")
    problems.raise_if_any()
    content = _sha(data)
    with transaction.atomic():
        existing = TreasuryStatement.objects.filter(institution=institution, content_sha256=content).first()
        if existing is not None:
            return existing
        first = parsed[0]
        statement = TreasuryStatement.objects.create(
            institution=institution, number=first["statement_number"][:60], date=first["statement_date"],
            content_sha256=content, imported_by=actor)
        lines = []
        for item in parsed:
            payment = (Payment.objects.select_related("contract__counterparty")
                       .filter(institution=institution, number=item["payment_number"], date=item["payment_date"],
                               amount=item["amount"], contract__counterparty__iin_bin=item["payee_bin"]).first())
            entry_id = payment.entry_id if payment else None
            if entry_id is None:
                entry_id = (JournalEntry.objects.filter(
                    institution=institution, doc_number=item["payment_number"], date=item["payment_date"],
                    postings__side="C", postings__amount=item["amount"]).values_list("id", flat=True).first())
            if payment is not None and payment.executed_on is None:
                Payment.objects.filter(pk=payment.pk).update(executed_on=statement.date)
            lines.append(StatementLine(statement=statement, row=item["row"], number=item["payment_number"][:60],
                                       date=item["payment_date"], amount=item["amount"],
                                       payee_bin=item["payee_bin"], specific=item["specific"][:3],
                                       payment=payment, entry_id=entry_id))
        StatementLine.objects.bulk_create(lines)
        matched = sum(1 for line in lines if line.payment_id and line.entry_id)
        log_action(actor=actor, action=Action.CREATE, request=request, institution=institution,
                   object_type="treasury_statement", object_id=statement.pk,
                   details=f"statement {statement.number} {statement.date.isoformat()}: {len(lines)} lines, "
                           f"{matched} matched")
    return statement
