"""The inventory register: assets, locations, responsible persons, tied grants, operations,
depreciation norms and runs, counts (инвентаризация) with their frozen book and scans.

Guarantees (PostgreSQL, not only Python):
- an inventory number and a barcode are unique per institution (unique constraints)
- every row of an institution's inventory references only rows of the same institution:
  composite foreign keys (x_id, institution_id) → (id, institution_id) on location, МОЛ,
  grant, asset, count (installed by migration 0002)
- an asset financed by a tied grant names the grant (CHECK, R21)
- quantities and cost are never negative; accumulated depreciation never exceeds cost (CHECK)
- a scan reference is unique per count, so a resent scan is counted once (unique constraint)
- the frozen book of a count (CountItem) holds one row per asset; its found quantity only
  grows while the count is in progress (record_scan increments it under the row's lock)
- operations (AssetOperation) are append-only (trigger)

Money is NUMERIC(18,2); quantities NUMERIC(14,3) (stock is counted in kilograms and litres).
"""

import pgtrigger
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from access.models import Institution
from access.triggers import refuse_change, refuse_truncate

MONEY = {"max_digits": 18, "decimal_places": 2}
QUANTITY = {"max_digits": 14, "decimal_places": 3}


def tenant_constraints(prefix: str) -> list:
    """(id, institution) is unique so other tables can reference the pair (tenant isolation)."""
    return [models.UniqueConstraint(fields=["id", "institution"], name=f"{prefix}_id_tenant")]


class Location(models.Model):
    """A place assets stand in (room, store, building)."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "code"], name="inv_location_code_unique"),
            *tenant_constraints("inv_location"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"


class ResponsiblePerson(models.Model):
    """Materially responsible person (МОЛ, материально ответственное лицо)."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    full_name = models.CharField(_("full name"), max_length=300)
    iin = models.CharField(_("IIN"), max_length=12, blank=True)
    position = models.CharField(_("position"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("responsible person")
        verbose_name_plural = _("responsible persons")
        ordering = ["full_name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(iin="") | models.Q(iin__regex=r"^[0-9]{12}$"),
                                   name="inv_person_iin_digits"),
            *tenant_constraints("inv_person"),
        ]

    def __str__(self):
        return self.full_name


class TiedGrant(models.Model):
    """A tied grant (связанный грант) that financed assets: donor and agreement (R21)."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    donor = models.CharField(_("donor"), max_length=300)
    agreement_number = models.CharField(_("agreement number"), max_length=60)
    agreement_date = models.DateField(_("agreement date"))

    class Meta:
        verbose_name = _("tied grant")
        verbose_name_plural = _("tied grants")
        constraints = [
            models.UniqueConstraint(fields=["institution", "agreement_number"], name="inv_grant_agreement_unique"),
            *tenant_constraints("inv_grant"),
        ]

    def __str__(self):
        return f"{self.donor}, {self.agreement_number}"


class AssetKind(models.TextChoices):
    FIXED = "fixed", _("Fixed asset")
    STOCK = "stock", _("Stock")


class AssetStatus(models.TextChoices):
    IN_USE = "in_use", _("In use")
    WRITTEN_OFF = "written_off", _("Written off")


class Asset(models.Model):
    """One line of the register: a fixed asset (one object, one inventory number) or a stock
    line (a quantity of one item on one account, location and МОЛ).

    Guarantees: see the module docstring. `cost` is the whole line's book cost; the unit
    cost is cost / quantity. `accumulated_depreciation` grows only by depreciation runs.
    """

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    inventory_number = models.CharField(_("inventory number"), max_length=40)
    name = models.CharField(_("name"), max_length=300)
    # Code of the classifier of goods, works and services (КТРУ / ЕНС ТРУ), R6.
    classifier_code = models.CharField(_("classifier code (КТРУ)"), max_length=40, blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=AssetKind.choices, default=AssetKind.FIXED)
    account = models.CharField(_("account"), max_length=4)
    specific = models.CharField(_("specific"), max_length=3)
    administrator = models.CharField(_("administrator"), max_length=3)
    programme = models.CharField(_("programme"), max_length=3)
    subprogramme = models.CharField(_("subprogramme"), max_length=3)
    funding_source = models.CharField(_("funding source"), max_length=30)
    grant = models.ForeignKey(TiedGrant, on_delete=models.PROTECT, null=True, blank=True, related_name="assets",
                              verbose_name=_("tied grant"), db_constraint=False)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="assets",
                                 verbose_name=_("location"), db_constraint=False)
    responsible = models.ForeignKey(ResponsiblePerson, on_delete=models.PROTECT, related_name="assets",
                                    verbose_name=_("responsible person"), db_constraint=False)
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    unit = models.CharField(_("unit"), max_length=20, default="шт")
    cost = models.DecimalField(_("cost"), **MONEY)
    accumulated_depreciation = models.DecimalField(_("accumulated depreciation"), default=0, **MONEY)
    acquired_on = models.DateField(_("acquisition date"))
    barcode = models.CharField(_("barcode"), max_length=64)
    status = models.CharField(_("status"), max_length=12, choices=AssetStatus.choices, default=AssetStatus.IN_USE)
    supplier_id = models.BigIntegerField(null=True, blank=True)  # ledger.Counterparty of the receipt
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("asset")
        verbose_name_plural = _("assets")
        ordering = ["inventory_number"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "inventory_number"], name="inv_asset_number_unique"),
            models.UniqueConstraint(fields=["institution", "barcode"], name="inv_asset_barcode_unique"),
            *tenant_constraints("inv_asset"),
            models.CheckConstraint(condition=models.Q(quantity__gte=0) & models.Q(cost__gte=0),
                                   name="inv_asset_nonnegative"),
            models.CheckConstraint(condition=models.Q(accumulated_depreciation__gte=0)
                                   & models.Q(accumulated_depreciation__lte=models.F("cost")),
                                   name="inv_asset_depreciation_within_cost"),
            models.CheckConstraint(condition=~models.Q(funding_source="grant") | models.Q(grant__isnull=False),
                                   name="inv_asset_grant_named"),
            models.CheckConstraint(condition=models.Q(account__regex=r"^[0-9]{4}$")
                                   & models.Q(specific__regex=r"^[0-9]{3}$"), name="inv_asset_codes"),
            models.CheckConstraint(condition=~models.Q(barcode=""), name="inv_asset_barcode_given"),
        ]
        indexes = [models.Index(fields=["institution", "location"], name="inv_asset_location")]

    def __str__(self):
        return f"{self.inventory_number} {self.name}"

    @property
    def book_value(self):
        return self.cost - self.accumulated_depreciation


class OperationKind(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    TRANSFER = "transfer", _("Transfer")
    WRITE_OFF = "write_off", _("Write-off")
    DEPRECIATION = "depreciation", _("Depreciation")
    SURPLUS = "surplus", _("Surplus found at a count")
    SHORTAGE = "shortage", _("Shortage found at a count")
    COUNT_ADJUSTMENT = "count_adjustment", _("Count adjustment")


class AssetOperation(models.Model):
    """One operation on an asset, as it happened (append-only history of the register)."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="operations", db_constraint=False)
    kind = models.CharField(_("operation"), max_length=20, choices=OperationKind.choices)
    date = models.DateField(_("date"))
    document = models.CharField(_("document"), max_length=120, blank=True)
    quantity = models.DecimalField(_("quantity"), default=0, **QUANTITY)
    amount = models.DecimalField(_("amount"), default=0, **MONEY)
    from_location = models.ForeignKey(Location, on_delete=models.PROTECT, null=True, related_name="+")
    to_location = models.ForeignKey(Location, on_delete=models.PROTECT, null=True, related_name="+")
    from_responsible = models.ForeignKey(ResponsiblePerson, on_delete=models.PROTECT, null=True, related_name="+")
    to_responsible = models.ForeignKey(ResponsiblePerson, on_delete=models.PROTECT, null=True, related_name="+")
    entry_id = models.BigIntegerField(null=True, blank=True)  # ledger.JournalEntry posted for it
    note = models.CharField(_("note"), max_length=300, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["institution", "date"], name="inv_operation_date")]
        triggers = [refuse_change("inv_operation_append_only", "asset operation"),
                    refuse_truncate("inv_operation_no_truncate")]


class DepreciationNorm(models.Model):
    """Dated annual depreciation rate for the assets of an account (straight line). Data, not
    code (R18): loaded from inventory/data/depreciation_norms.csv, edited by date."""

    account = models.CharField(_("account"), max_length=4)
    accumulated_account = models.CharField(_("accumulated depreciation account"), max_length=4)
    annual_rate_percent = models.DecimalField(_("annual rate, %"), max_digits=6, decimal_places=2)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    source = models.CharField(_("source act"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=12, default="unverified")

    class Meta:
        verbose_name = _("depreciation norm")
        verbose_name_plural = _("depreciation norms")
        ordering = ["account", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["account", "valid_from"], name="inv_norm_unique"),
            models.CheckConstraint(condition=models.Q(annual_rate_percent__gt=0, annual_rate_percent__lte=100),
                                   name="inv_norm_rate_range"),
        ]


class DepreciationRun(models.Model):
    """One month's depreciation of an institution: at most one per month (unique)."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    month = models.PositiveSmallIntegerField()
    total = models.DecimalField(**MONEY)
    assets = models.PositiveIntegerField()
    entry_id = models.BigIntegerField(null=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["institution", "year", "month"], name="inv_run_unique")]


class CountStatus(models.TextChoices):
    DRAFT = "draft", _("Ordered")
    IN_PROGRESS = "in_progress", _("In progress")
    CLOSED = "closed", _("Closed")
    APPROVED = "approved", _("Approved and posted")


class ShortageDecision(models.TextChoices):
    RECOVER = "recover", _("Recover from the responsible person")
    WRITE_OFF = "write_off", _("Write off by the commission's decision")


class InventoryCount(models.Model):
    """An inventory order and its count (приказ об инвентаризации, MoF order No. 423).

    Guarantees: status moves draft → in_progress → closed → approved only (trigger
    `inv_count_transition`); the book is frozen into CountItem rows when it starts.
    """

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("order number"), max_length=40)
    order_date = models.DateField(_("order date"))
    count_date = models.DateField(_("count date"))
    chairman = models.CharField(_("commission chairman"), max_length=300)
    members = models.JSONField(_("commission members"), default=list)
    scope_locations = models.JSONField(default=list, blank=True)  # location ids; empty: all
    scope_responsible = models.JSONField(default=list, blank=True)  # МОЛ ids; empty: all
    scope_accounts = models.JSONField(default=list, blank=True)  # account codes; empty: all
    status = models.CharField(_("status"), max_length=12, choices=CountStatus.choices, default=CountStatus.DRAFT)
    shortage_decision = models.CharField(_("shortages"), max_length=10, choices=ShortageDecision.choices,
                                         default=ShortageDecision.RECOVER)
    started_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    entry_ids = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("inventory count")
        verbose_name_plural = _("inventory counts")
        ordering = ["-order_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "number"], name="inv_count_number_unique"),
            *tenant_constraints("inv_count"),
        ]
        triggers = [
            pgtrigger.Trigger(
                name="inv_count_transition", when=pgtrigger.Before,
                operation=pgtrigger.Update,
                func="""
                    IF NEW.status <> OLD.status AND NOT (
                        (OLD.status = 'draft' AND NEW.status = 'in_progress') OR
                        (OLD.status = 'in_progress' AND NEW.status = 'closed') OR
                        (OLD.status = 'closed' AND NEW.status = 'approved')) THEN
                        RAISE EXCEPTION USING ERRCODE = 'check_violation',
                            MESSAGE = format('inv_count_transition: count %s %s → %s not allowed',
                                             OLD.id, OLD.status, NEW.status);
                    END IF;
                    RETURN NEW;
                """,
            ),
        ]

    def __str__(self):
        return f"№ {self.number} {self.count_date:%d.%m.%Y}"


class CountItem(models.Model):
    """One asset of a count's frozen book: where it should be, how much, at what value, and
    what the scans found. `counted_quantity`, when set by the commission, overrides the scans
    (stock weighed or measured rather than scanned)."""

    count = models.ForeignKey(InventoryCount, on_delete=models.PROTECT, related_name="items")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    responsible = models.ForeignKey(ResponsiblePerson, on_delete=models.PROTECT, related_name="+")
    expected_quantity = models.DecimalField(**QUANTITY)
    book_cost = models.DecimalField(**MONEY)
    book_depreciation = models.DecimalField(**MONEY)
    found_quantity = models.DecimalField(default=0, **QUANTITY)
    counted_quantity = models.DecimalField(null=True, blank=True, **QUANTITY)
    found_location = models.ForeignKey(Location, on_delete=models.PROTECT, null=True, related_name="+")
    scans = models.PositiveIntegerField(default=0)
    shortage_decision = models.CharField(max_length=10, choices=ShortageDecision.choices, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["count", "asset"], name="inv_item_unique")]
        indexes = [models.Index(fields=["count", "location"], name="inv_item_location")]

    @property
    def actual_quantity(self):
        return self.found_quantity if self.counted_quantity is None else self.counted_quantity


class ScanStatus(models.TextChoices):
    FOUND = "found", _("Found")
    REPEATED = "repeated", _("Repeated scan")
    OTHER_LOCATION = "other_location", _("Found in another location")
    UNKNOWN = "unknown", _("Unknown code")
    OTHER_INSTITUTION = "other_institution", _("Another institution's label")
    COUNT_CLOSED = "count_closed", _("Count is not in progress")


class Scan(models.Model):
    """Every scan a count received, as received: the idempotency key `scan_ref` (device id and
    sequence number) is unique per count."""

    count = models.ForeignKey(InventoryCount, on_delete=models.PROTECT, related_name="scans")
    scan_ref = models.CharField(max_length=120)
    code = models.CharField(max_length=200)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, null=True, related_name="+")
    device_label = models.CharField(max_length=120, blank=True)
    scanned_at = models.DateTimeField()
    received_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=ScanStatus.choices)
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["count", "scan_ref"], name="inv_scan_ref_unique")]
        indexes = [models.Index(fields=["count", "status"], name="inv_scan_status")]


class SurplusRegistration(models.Model):
    """What the commission decided an unknown code (a surplus) is: name, account and value.
    On approval it becomes an asset received as income (D asset, C 6360)."""

    count = models.ForeignKey(InventoryCount, on_delete=models.PROTECT, related_name="surpluses")
    code = models.CharField(max_length=200)
    name = models.CharField(max_length=300)
    account = models.CharField(max_length=4)
    specific = models.CharField(max_length=3)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    responsible = models.ForeignKey(ResponsiblePerson, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(default=1, **QUANTITY)
    value = models.DecimalField(**MONEY)
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["count", "code"], name="inv_surplus_unique"),
            models.CheckConstraint(condition=models.Q(value__gt=0) & models.Q(quantity__gt=0),
                                   name="inv_surplus_positive"),
        ]
