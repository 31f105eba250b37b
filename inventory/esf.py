"""Import of an e-invoice (ЭСФ, электронный счёт-фактура) file as a receipt (R19).

The layout (docs/exchange/esf-invoice.md) follows the ЭСФ information system's XML export:
an `invoiceContainer` (any namespace) with one or more `invoice` elements, each with `num`,
`date`, `registrationNumber`, `sellers/seller/{tin,name}`, `customers/customer/{tin,name}`,
`productSet/{currencyCode, products/product/{description, catalogTruId, unitNomenclature,
quantity, unitPrice, priceWithTax}}`. Elements are matched by local name, so the
namespace prefix of the exporting system does not matter.

All-or-nothing (esep/imports.py): the whole file is read and every problem collected; only a
file with none becomes receipts, in one transaction.
"""

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from access.identifiers import has_valid_check_digit
from esep.imports import Problems
from ledger.models import Counterparty

from .models import AssetOperation
from .services import AssetInput, receive_assets

FILE_BYTES_MAX = 20 * 1024 * 1024  # an ЭСФ export of a few thousand lines is well under
PRODUCTS_MAX = 5000


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element, *path):
    for name in path:
        if element is None:
            return None
        element = next((c for c in element if _local(c.tag) == name), None)
    return element


def _children(element, name):
    return [] if element is None else [c for c in element if _local(c.tag) == name]


def _text(element, *path) -> str:
    found = _child(element, *path)
    return (found.text or "").strip() if found is not None else ""


def _date(value: str):
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            pass
    return None


def _number(value: str):
    try:
        number = Decimal(value.replace(" ", "").replace(",", "."))
    except (InvalidOperation, AttributeError):
        return None
    return number if number.is_finite() else None


def parse(data: bytes, institution) -> tuple[list[dict], Problems]:
    """The invoices of the file as plain values, and the problems found."""
    problems = Problems()
    if len(data) > FILE_BYTES_MAX:
        problems.add("file_too_large", _("The file is larger than %(max)s MB.") % {"max": FILE_BYTES_MAX // 2**20})
        return [], problems
    if b"<!DOCTYPE" in data[:2048] or b"<!ENTITY" in data:
        # entity expansion is how XML bombs work; an ЭСФ export never declares a DTD
        problems.add("xml_dtd", _("The file declares a DTD or entities, which an e-invoice never does."))
        return [], problems
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        problems.add("xml_malformed", _("The file is not well-formed XML: %(error)s") % {"error": exc},
                     row=exc.position[0] if exc.position else None)
        return [], problems
    invoices = [root] if _local(root.tag) == "invoice" else [e for e in root.iter() if _local(e.tag) == "invoice"]
    if not invoices:
        problems.add("no_invoice", _("The file holds no invoice element."))
    result = []
    for number, invoice in enumerate(invoices, start=1):
        sheet = _("invoice %(n)s") % {"n": number}
        reg = _text(invoice, "registrationNumber")
        num = _text(invoice, "num")
        day = _date(_text(invoice, "date"))
        seller_tin = _text(invoice, "sellers", "seller", "tin")
        seller_name = _text(invoice, "sellers", "seller", "name")
        customer_tin = _text(invoice, "customers", "customer", "tin")
        currency = _text(invoice, "productSet", "currencyCode") or "KZT"
        if not reg:
            problems.add("required", _("The registration number is missing."), sheet=sheet,
                         column="registrationNumber")
        elif AssetOperation.objects.filter(institution=institution, document=f"ЭСФ {reg}").exists():
            problems.add("already_imported", _("This e-invoice was already imported."), sheet=sheet,
                         column="registrationNumber", value=reg)
        if day is None:
            problems.add("date_invalid", _("The date must be YYYY-MM-DD or DD.MM.YYYY."), sheet=sheet,
                         column="date", value=_text(invoice, "date"))
        if not has_valid_check_digit(seller_tin):
            problems.add("seller_tin_invalid", _("The seller's BIN/IIN must be 12 digits with a valid check "
                                                 "digit."), sheet=sheet, column="sellers/seller/tin",
                         value=seller_tin)
        if not seller_name:
            problems.add("required", _("The seller's name is missing."), sheet=sheet, column="sellers/seller/name")
        if customer_tin != institution.bin:
            problems.add("customer_mismatch", _("The customer's BIN %(bin)s is not this institution's (%(own)s).")
                         % {"bin": customer_tin, "own": institution.bin}, sheet=sheet,
                         column="customers/customer/tin", value=customer_tin)
        if currency != "KZT":
            problems.add("currency", _("Only invoices in tenge (KZT) are accepted."), sheet=sheet,
                         column="productSet/currencyCode", value=currency)
        products = _children(_child(invoice, "productSet", "products"), "product")
        if not products:
            problems.add("no_products", _("The invoice has no products."), sheet=sheet, column="productSet")
        if len(products) > PRODUCTS_MAX:
            problems.add("too_many_products", _("At most %(max)s products per invoice.") % {"max": PRODUCTS_MAX},
                         sheet=sheet, column="productSet")
            products = products[:PRODUCTS_MAX]
        lines = []
        for row, product in enumerate(products, start=1):
            name = _text(product, "description")
            quantity = _number(_text(product, "quantity"))
            total = _number(_text(product, "priceWithTax"))
            if not name:
                problems.add("required", _("The product's description is missing."), sheet=sheet, row=row,
                             column="description")
            if quantity is None or quantity <= 0:
                problems.add("quantity_invalid", _("The quantity must be a positive number."), sheet=sheet, row=row,
                             column="quantity", value=_text(product, "quantity"))
            if total is None or total <= 0 or total != total.quantize(Decimal("0.01")):
                problems.add("amount_invalid", _("The amount with tax must be positive, with at most two "
                                                 "decimals."), sheet=sheet, row=row, column="priceWithTax",
                             value=_text(product, "priceWithTax"))
            lines.append({"name": name[:300], "quantity": quantity, "cost": total,
                          "classifier_code": _text(product, "catalogTruId")[:40],
                          "unit": (_text(product, "unitNomenclature") or "шт")[:20]})
        result.append({"registration_number": reg, "number": num, "date": day, "seller_tin": seller_tin,
                       "seller_name": seller_name[:300], "lines": lines})
    return result, problems


def import_esf(*, institution, actor, data: bytes, account: str, specific: str, location_id: int,
               responsible_id: int, programme: str, subprogramme: str, funding_source: str = "budget_local",
               grant_id: int | None = None, date: dt.date | None = None, request=None) -> list:
    """Receive the goods of every invoice in the file, placed on `account`/`specific` at the
    location and with the МОЛ given; the seller becomes (or is found as) a counterparty.
    Raises ImportRefused with every problem; writes nothing unless the whole file is good."""
    invoices, problems = parse(data, institution)
    problems.raise_if_any()
    assets = []
    with transaction.atomic():
        for invoice in invoices:
            supplier, _made = Counterparty.objects.get_or_create(
                institution=institution, iin_bin=invoice["seller_tin"],
                defaults={"name": invoice["seller_name"], "source": "esf"})
            lines = [AssetInput(name=line["name"], account=account, specific=specific, location_id=location_id,
                                responsible_id=responsible_id, cost=line["cost"], quantity=line["quantity"],
                                unit=line["unit"], classifier_code=line["classifier_code"], programme=programme,
                                subprogramme=subprogramme, funding_source=funding_source, grant_id=grant_id)
                     for line in invoice["lines"]]
            assets += receive_assets(institution=institution, actor=actor, date=date or invoice["date"],
                                     document=f"ЭСФ {invoice['registration_number']}", lines=lines,
                                     supplier_id=supplier.id, source="e-invoice", request=request)
    return assets
