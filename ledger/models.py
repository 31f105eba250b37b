"""The ledger: reference data, periods, journal entries and postings, seals, turnovers,
corrections.

The invariants of docs/architecture.md live in PostgreSQL; the SQL is in ledger/sql.py and
is installed by migrations. Python never is the only guard.
"""

import pgtrigger
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models.expressions import RawSQL
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from access.identifiers import validate_iin_or_bin
from access.models import Institution
from access.triggers import ONLY_FROM_TRIGGER_SQL, only_from_trigger, refuse_change, refuse_truncate

from . import sql

MONEY = {"max_digits": 18, "decimal_places": 2}


class RefStatus(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed in a published act")
    UNVERIFIED = "unverified", _("Unverified: check against the act")
    DEMO = "demo", _("Demo data")


class Dated(models.Model):
    """Reference rows are valid over a date range and name the act they come from (R18)."""

    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    source = models.CharField(_("source act"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=RefStatus.choices,
                              default=RefStatus.UNVERIFIED)

    class Meta:
        abstract = True

    def is_valid_on(self, day) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class Named(models.Model):
    name_ru = models.CharField(_("name (Russian)"), max_length=300)
    name_kk = models.CharField(_("name (Kazakh)"), max_length=300)

    class Meta:
        abstract = True

    @property
    def name(self) -> str:
        return self.name_kk if (get_language() or "").startswith("kk") else self.name_ru


class AccountKind(models.TextChoices):
    ASSET = "asset", _("Asset")
    CONTRA_ASSET = "contra_asset", _("Contra-asset")
    LIABILITY = "liability", _("Liability")
    NET_ASSETS = "net_assets", _("Net assets")
    INCOME = "income", _("Income")
    EXPENSE = "expense", _("Expense")


class Account(Named, Dated):
    """Account of the chart of accounts of state institutions (order No. 281 family)."""

    code = models.CharField(_("code"), max_length=4, unique=True)
    section = models.PositiveSmallIntegerField(_("section"))
    kind = models.CharField(_("kind"), max_length=12, choices=AccountKind.choices)
    is_cash = models.BooleanField(_("cash account"), default=False)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("chart of accounts")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(code__regex=r"^[0-9]{4}$"), name="account_code_digits"),
        ]
        triggers = [refuse_change("account_no_delete", "account", deletes_only=True)]

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def debit_normal(self) -> bool:
        return self.kind in {AccountKind.ASSET, AccountKind.EXPENSE}


class Specific(Named, Dated):
    """Specific of the economic classification of expenditure (специфика ЕБК)."""

    code = models.CharField(_("code"), max_length=3, unique=True)
    category = models.CharField(_("category"), max_length=1)
    class_code = models.CharField(_("class"), max_length=1)
    subclass = models.CharField(_("subclass"), max_length=1)

    class Meta:
        verbose_name = _("specific")
        verbose_name_plural = _("specifics of economic classification")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(code__regex=r"^[0-9]{3}$"), name="specific_code_digits"),
        ]
        triggers = [refuse_change("specific_no_delete", "specific", deletes_only=True)]

    def __str__(self):
        return f"{self.code} {self.name}"


class BudgetProgramme(Named, Dated):
    """Administrator · programme · subprogramme of the functional classification."""

    administrator = models.CharField(_("administrator (АБП)"), max_length=3)
    functional_group = models.CharField(_("functional group"), max_length=2)
    functional_subgroup = models.CharField(_("functional subgroup"), max_length=1)
    programme = models.CharField(_("programme"), max_length=3)
    subprogramme = models.CharField(_("subprogramme"), max_length=3)

    class Meta:
        verbose_name = _("budget programme")
        verbose_name_plural = _("budget programmes")
        ordering = ["administrator", "programme", "subprogramme"]
        constraints = [
            models.UniqueConstraint(fields=["administrator", "programme", "subprogramme", "valid_from"],
                                    name="programme_unique_dated"),
            models.CheckConstraint(
                condition=models.Q(administrator__regex=r"^[0-9]{3}$", programme__regex=r"^[0-9]{3}$",
                                   subprogramme__regex=r"^[0-9]{3}$"),
                name="programme_code_digits",
            ),
        ]
        triggers = [refuse_change("programme_no_delete", "budget programme", deletes_only=True)]

    def __str__(self):
        return f"{self.administrator}.{self.programme}.{self.subprogramme} {self.name}"


class FundingSource(Named):
    code = models.CharField(_("code"), max_length=30, unique=True)

    class Meta:
        verbose_name = _("funding source")
        verbose_name_plural = _("funding sources")
        ordering = ["code"]
        triggers = [refuse_change("funding_no_delete", "funding source", deletes_only=True)]

    def __str__(self):
        return self.name


class AccountSpecific(Dated):
    """Which specifics may go with an account (dated correspondence table for ФЛК)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    specific = models.ForeignKey(Specific, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("account–specific correspondence")
        verbose_name_plural = _("account–specific correspondence")
        constraints = [
            models.UniqueConstraint(fields=["account", "specific", "valid_from"], name="acc_spec_unique"),
        ]


class Counterparty(models.Model):
    """Supplier, buyer or person an institution settles with (BIN or IIN)."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    iin_bin = models.CharField(_("IIN/BIN"), max_length=12, validators=[validate_iin_or_bin])
    name = models.CharField(_("name"), max_length=300)
    address = models.CharField(_("address"), max_length=300, blank=True)
    source = models.CharField(_("source"), max_length=40, default="manual",
                              help_text=_("manual, or the registry extract it came from"))

    class Meta:
        verbose_name = _("counterparty")
        verbose_name_plural = _("counterparties")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "iin_bin"], name="counterparty_unique_per_tenant"),
            models.UniqueConstraint(fields=["id", "institution"], name="counterparty_id_tenant"),
            models.CheckConstraint(condition=models.Q(iin_bin__regex=r"^[0-9]{12}$"),
                                   name="counterparty_iin_bin_digits"),
        ]
        indexes = [GinIndex(fields=["name"], opclasses=["gin_trgm_ops"], name="counterparty_name_trgm")]

    def __str__(self):
        return f"{self.name} ({self.iin_bin})"


class PeriodStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    APPROVED = "approved", _("Approved")


class Period(models.Model):
    """A month of an institution's books.

    Guarantees (trigger `period_transition`):
    - status moves open → closed → approved, or closed → open (reopen); nothing else
    - an approved period never changes again (R3)
    - entries are admitted only while the period is open (trigger on ledger_entry, under a
      FOR SHARE lock on this row, so a concurrent close waits for them or they see it)
    """

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="periods")
    year = models.PositiveSmallIntegerField(_("year"))
    month = models.PositiveSmallIntegerField(_("month"))
    status = models.CharField(_("status"), max_length=10, choices=PeriodStatus.choices,
                              default=PeriodStatus.OPEN)
    changed_at = models.DateTimeField(_("changed at"), null=True, blank=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+")

    class Meta:
        verbose_name = _("period")
        verbose_name_plural = _("periods")
        ordering = ["institution", "year", "month"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "year", "month"], name="period_unique_month"),
            models.CheckConstraint(condition=models.Q(month__gte=1, month__lte=12), name="period_month_range"),
        ]
        triggers = [
            refuse_change("period_no_delete", "period", deletes_only=True),
            refuse_truncate("period_no_truncate"),
            pgtrigger.Trigger(
                name="period_transition",
                when=pgtrigger.Before,
                operation=pgtrigger.Update,
                func="""
                    IF NEW.institution_id <> OLD.institution_id OR NEW.year <> OLD.year
                       OR NEW.month <> OLD.month THEN
                        RAISE EXCEPTION USING ERRCODE = 'check_violation',
                            MESSAGE = format('period_identity: period %s cannot be moved', OLD.id);
                    END IF;
                    IF OLD.status = 'approved' THEN
                        RAISE EXCEPTION USING ERRCODE = 'check_violation',
                            MESSAGE = format('period_approved: period %s-%s is approved and can never change',
                                             OLD.year, lpad(OLD.month::text, 2, '0'));
                    END IF;
                    IF NEW.status <> OLD.status AND NOT (
                        (OLD.status = 'open' AND NEW.status = 'closed') OR
                        (OLD.status = 'closed' AND NEW.status IN ('open', 'approved'))) THEN
                        RAISE EXCEPTION USING ERRCODE = 'check_violation',
                            MESSAGE = format('period_transition: %s → %s not allowed', OLD.status, NEW.status);
                    END IF;
                    RETURN NEW;
                """,
            ),
        ]

    def __str__(self):
        return f"{self.year}-{self.month:02d}"


class PeriodTransition(models.Model):
    """Every change of a period's status, with who, when and why. Append-only."""

    period = models.ForeignKey(Period, on_delete=models.PROTECT, related_name="transitions")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    from_status = models.CharField(max_length=10, choices=PeriodStatus.choices)
    to_status = models.CharField(max_length=10, choices=PeriodStatus.choices)
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at"]
        constraints = [
            # reopening a closed month is the exception that must say why
            models.CheckConstraint(condition=~models.Q(to_status="open") | ~models.Q(reason=""),
                                   name="ptrans_reopen_reason_given"),
        ]
        triggers = [
            refuse_change("ptrans_append_only", "period transition"),
            refuse_truncate("ptrans_no_truncate"),
        ]


class EntryKind(models.TextChoices):
    REGULAR = "regular", _("Regular entry")
    REVERSAL = "reversal", _("Reversal (red storno)")
    CORRECTED = "corrected", _("Corrected entry")


class JournalEntry(models.Model):
    """Journal entry (бухгалтерская проводка / мемориальный ордер line).

    Guarantees:
    - dated in an open period of its institution, the period it names (statement-level
      trigger `entry_admit`, set-based, under a fair advisory lock and a FOR SHARE lock on
      the periods)
    - debits == credits and at least two postings, checked at commit (deferred trigger on
      ledger_sealqueue, once per transaction), which also seals it into the institution's
      hash chain
    - never updated, deleted or truncated; corrections are new entries (R2)
    - only a reversal carries negative amounts (red storno)
    References (institution, period, author, reverses) are checked by `entry_admit` in one
    join per statement instead of per-row foreign keys; the rows they name are never deleted.
    """

    institution = models.ForeignKey(Institution, on_delete=models.DO_NOTHING, db_constraint=False,
                                    db_index=False, related_name="+")
    period = models.ForeignKey(Period, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                               related_name="entries")
    date = models.DateField(_("date"))
    doc_type = models.CharField(_("document type"), max_length=60)
    # 60 for the user; a correction appends a two-character suffix ("-С", "-И")
    doc_number = models.CharField(_("document number"), max_length=62)
    memorial_order = models.PositiveSmallIntegerField(_("memorial order"), null=True, blank=True)
    description = models.TextField(_("description"))
    basis = models.CharField(_("basis document"), max_length=300, blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
                               db_index=False, related_name="+")
    created_at = models.DateTimeField(_("recorded at"))
    kind = models.CharField(_("kind"), max_length=10, choices=EntryKind.choices, default=EntryKind.REGULAR)
    reverses = models.ForeignKey("self", on_delete=models.DO_NOTHING, db_constraint=False, null=True, blank=True,
                                 related_name="reversals", verbose_name=_("reverses"))
    # Top-level transaction id, set by the database (column default; `entry_admit` refuses any
    # other value): postings may join an entry only in the transaction that created it, so a
    # committed entry can never gain a posting.
    txid = models.BigIntegerField(editable=False, db_default=RawSQL("pg_current_xact_id()::text::bigint", []))

    class Meta:
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal")
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["id", "institution"], name="entry_id_tenant"),
            models.CheckConstraint(
                condition=models.Q(kind="regular", reverses__isnull=True) | ~models.Q(kind="regular"),
                name="entry_regular_reverses_nothing",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="reversal") | models.Q(reverses__isnull=False),
                name="entry_reversal_names_original",
            ),
        ]
        indexes = [
            models.Index(fields=["institution", "date"], name="entry_inst_date"),
            # the commit-time seal finds the transaction's entries by it
            models.Index(fields=["txid"], name="entry_txid"),
            GinIndex(fields=["doc_number"], opclasses=["gin_trgm_ops"], name="entry_docnum_trgm"),
        ]
        triggers = [
            refuse_change("entry_immutable", "journal entry"),
            refuse_truncate("entry_no_truncate"),
            pgtrigger.Trigger(
                name="entry_admit", level=pgtrigger.Statement, when=pgtrigger.After,
                operation=pgtrigger.Insert, referencing=pgtrigger.Referencing(new="new_rows"),
                declare=[("v_entry", "bigint"), ("v_fault", "text")],
                func=sql.ENTRY_ADMIT,
            ),
        ]

    def __str__(self):
        return f"{self.doc_type} {self.doc_number} {self.date:%d.%m.%Y}"


class SealQueue(models.Model):
    """One row per transaction that inserted entries, while it runs: its deferred trigger
    checks and seals all of that transaction's entries once, at commit, and removes the row.
    A deferred trigger per entry would cost a trigger call per entry at commit."""

    txid = models.BigIntegerField(primary_key=True)

    class Meta:
        triggers = [
            *only_from_trigger("sealqueue"),
            pgtrigger.Trigger(
                name="seal_at_commit", when=pgtrigger.After, operation=pgtrigger.Insert,
                timing=pgtrigger.Deferred,
                declare=[("v_institution", "bigint"), ("v_seq", "bigint"), ("v_hash", "text"), ("v_row", "record"),
                         ("v_ids", "bigint[]"), ("v_seqs", "bigint[]"), ("v_prevs", "text[]"),
                         ("v_hashes", "text[]"), ("v_totals", "numeric[]"), ("v_searches", "tsvector[]")],
                func=sql.ENTRY_SEAL,
            ),
        ]


class Side(models.TextChoices):
    DEBIT = "D", _("Debit")
    CREDIT = "C", _("Credit")


class Posting(models.Model):
    """One side of an entry on one account with its budget classification (R1).

    Guarantees (statement-level trigger `posting_admit`, set-based over the inserted rows):
    - its entry exists, belongs to the same institution, was created in this transaction
      and has the same date
    - account, funding source and counterparty exist; the counterparty is the institution's
    - amount ≠ 0; negative only on a reversal
    - turnovers are updated in the same statement
    Foreign keys are checked set-based by that trigger instead of per-row FK triggers, which
    cost ~30 µs a row on bulk loads; referenced rows can never be deleted (Protect triggers).
    """

    # No single-column indexes on the references: the unique (entry, line_no) and the covering
    # (institution, …) indexes serve every lookup, and each extra index costs every insert.
    institution = models.ForeignKey(Institution, on_delete=models.DO_NOTHING, db_constraint=False,
                                    db_index=False, related_name="+")
    entry = models.ForeignKey(JournalEntry, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                              related_name="postings")
    line_no = models.PositiveSmallIntegerField()
    date = models.DateField()
    account = models.ForeignKey(Account, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                                related_name="+")
    side = models.CharField(max_length=1, choices=Side.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    administrator = models.CharField(_("administrator"), max_length=3)
    programme = models.CharField(_("programme"), max_length=3)
    subprogramme = models.CharField(_("subprogramme"), max_length=3)
    specific = models.CharField(_("specific"), max_length=3)
    funding_source = models.ForeignKey(FundingSource, on_delete=models.DO_NOTHING, db_constraint=False,
                                       db_index=False, related_name="+")
    counterparty = models.ForeignKey(Counterparty, on_delete=models.DO_NOTHING, db_constraint=False,
                                     db_index=False, null=True, blank=True, related_name="+")
    # Analytic dimensions filled by payroll (employee) and inventory (asset); those apps add
    # their own admission checks when their tables exist.
    employee_id = models.BigIntegerField(null=True, blank=True)
    asset_id = models.BigIntegerField(null=True, blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        ordering = ["entry_id", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "line_no"], name="posting_unique_line"),
            models.CheckConstraint(condition=models.Q(side__in=["D", "C"]), name="posting_side"),
            models.CheckConstraint(condition=~models.Q(amount=0), name="posting_amount_nonzero"),
            models.CheckConstraint(
                condition=models.Q(administrator__regex=r"^[0-9]{3}$", programme__regex=r"^[0-9]{3}$",
                                   subprogramme__regex=r"^[0-9]{3}$", specific__regex=r"^[0-9]{3}$"),
                name="posting_classification_digits",
            ),
        ]
        indexes = [
            # account card and the GROUP BY trial balance: period on the row, covering index
            models.Index(fields=["institution", "account", "date"], include=["side", "amount"],
                         name="posting_inst_acc_date"),
            # the edges of a trial-balance range: all accounts of a few days
            models.Index(fields=["institution", "date"], include=["account", "side", "amount", "specific",
                                                                  "funding_source"], name="posting_inst_date"),
            models.Index(fields=["counterparty"], name="posting_counterparty",
                         condition=models.Q(counterparty__isnull=False)),
        ]
        triggers = [
            refuse_change("posting_immutable", "posting"),
            refuse_truncate("posting_no_truncate"),
            pgtrigger.Trigger(
                name="posting_admit", level=pgtrigger.Statement, when=pgtrigger.After,
                operation=pgtrigger.Insert, referencing=pgtrigger.Referencing(new="new_rows"),
                declare=[("v_entry", "bigint"), ("v_line", "int"), ("v_fault", "text")],
                func=sql.POSTING_ADMIT,
            ),
        ]


class EntrySeal(models.Model):
    """The link of an entry in its institution's hash chain, written by the database at commit.

    `seq` is gap-free per institution in commit order: the export to БО ДБҚ numbers its
    events by it. hash = sha256(prev_hash | seq | entry text | postings text); the text is
    built by SQL function ledger_entry_text() and rebuilt independently by verify_ledger.
    """

    entry = models.OneToOneField(JournalEntry, on_delete=models.DO_NOTHING, db_constraint=False, primary_key=True,
                                 related_name="seal")
    institution = models.ForeignKey(Institution, on_delete=models.DO_NOTHING, db_constraint=False,
                                    db_index=False, related_name="+")
    seq = models.BigIntegerField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)
    # The search document of the entry (R5): its header and every posting's description,
    # built once at commit; one GIN entry per entry instead of one per posting.
    search = SearchVectorField(editable=False)
    debit_total = models.DecimalField(**MONEY)
    sealed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["institution", "seq"], name="seal_unique_seq")]
        indexes = [GinIndex(fields=["search"], name="seal_search")]
        triggers = [
            refuse_change("seal_append_only", "seal of entry", key="entry_id"),
            refuse_truncate("seal_no_truncate"),
            # a seal written by hand would make the commit-time check skip its entry
            pgtrigger.Trigger(name="seal_only_from_trigger", when=pgtrigger.Before, operation=pgtrigger.Insert,
                              func=ONLY_FROM_TRIGGER_SQL),
        ]


class Turnover(models.Model):
    """Debit and credit turnover per institution, period, account, specific and funding source.

    Derived state, written only by the posting trigger in the posting's own statement (a
    guard refuses any other writer) and proven equal to a recompute by verify_ledger.
    """

    institution = models.ForeignKey(Institution, on_delete=models.DO_NOTHING, db_constraint=False,
                                    db_index=False, related_name="+")
    period = models.ForeignKey(Period, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                               related_name="+")
    account = models.ForeignKey(Account, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False,
                                related_name="+")
    specific = models.CharField(max_length=3)
    funding_source = models.ForeignKey(FundingSource, on_delete=models.DO_NOTHING, db_constraint=False,
                                       db_index=False,
                                       related_name="+")
    debit = models.DecimalField(default=0, **MONEY)
    credit = models.DecimalField(default=0, **MONEY)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["institution", "period", "account", "specific", "funding_source"],
                                    name="turnover_unique_key"),
        ]
        triggers = only_from_trigger("turnover")


class CorrectionLog(models.Model):
    """One row per corrected entry (R2, order No. 254 p.23): the original's data as it was,
    the reversal and the corrected entry, both timestamps, who and why. Append-only."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    original = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="correction",
                                    verbose_name=_("original entry"))
    reversal = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("reversal"))
    corrected = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("corrected entry"))
    original_data = models.JSONField(_("original entry data"))
    original_recorded_at = models.DateTimeField(_("original recorded at"))
    corrected_at = models.DateTimeField(_("corrected at"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("corrected by"))
    actor_name = models.CharField(_("corrected by"), max_length=460)
    reason = models.TextField(_("reason"))

    class Meta:
        verbose_name = _("correction")
        verbose_name_plural = _("correction log")
        ordering = ["-corrected_at"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(reason=""), name="correction_reason_given"),
        ]
        triggers = [
            refuse_change("correction_append_only", "correction"),
            refuse_truncate("correction_no_truncate"),
        ]


class SchemeLine(Dated):
    """One line of a posting scheme (типовая корреспонденция): for an operation of a sub-ledger
    (payroll accrual, a treasury payment, an asset receipt…), the account debited and the
    account credited with one named amount of that operation. Dated data: an administrator
    changes a scheme from a date without a release; a row for one institution overrides the
    deployment's row for the same operation and amount."""

    operation = models.CharField(_("operation"), max_length=80)
    amount_key = models.CharField(_("amount"), max_length=40)
    debit_account = models.CharField(_("debit account"), max_length=4)
    credit_account = models.CharField(_("credit account"), max_length=4)
    # Blank: the amount's own specific; set: this specific (employer charges go to 121/122/124).
    specific = models.CharField(_("specific"), max_length=3, blank=True)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("institution"))
    description_ru = models.CharField(_("description (Russian)"), max_length=200, blank=True)
    description_kk = models.CharField(_("description (Kazakh)"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("posting scheme line")
        verbose_name_plural = _("posting schemes")
        ordering = ["operation", "amount_key", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["operation", "amount_key", "institution", "valid_from"],
                                    nulls_distinct=False, name="scheme_line_unique"),
            models.CheckConstraint(condition=models.Q(debit_account__regex=r"^[0-9]{4}$")
                                   & models.Q(credit_account__regex=r"^[0-9]{4}$"),
                                   name="scheme_line_accounts_digits"),
            models.CheckConstraint(condition=~models.Q(debit_account=models.F("credit_account")),
                                   name="scheme_line_two_accounts"),
            models.CheckConstraint(condition=models.Q(valid_to__isnull=True)
                                   | models.Q(valid_to__gte=models.F("valid_from")),
                                   name="scheme_line_range"),
        ]

    def __str__(self):
        return f"{self.operation}/{self.amount_key}: D{self.debit_account} C{self.credit_account}"

    @property
    def description(self) -> str:
        return self.description_kk if (get_language() or "").startswith("kk") else self.description_ru
