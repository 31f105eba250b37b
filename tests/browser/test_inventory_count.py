"""The count page shows live progress: scans recorded while the page is open appear in the
found / expected figures of their location through htmx polling, without a reload."""

import pytest

from inventory import counting, services
from tests.inventory_support import DAY, asset_line, build_inv

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_count_page_progress_follows_the_scans(live_server, page, shots, language):
    inv = build_inv()
    assets = services.receive_assets(institution=inv.a, actor=inv.operator, date=DAY, document="Н-1",
                                     lines=[asset_line(inv, location=0, cost="4000.00", quantity=4),
                                            asset_line(inv, location=1, cost="2000.00", quantity=2)])
    count = services.create_count(institution=inv.a, actor=inv.operator, number="B-1", order_date=DAY,
                                  count_date=DAY, chairman="Директор", members=["Бухгалтер", "Завхоз"])
    count = services.start_count(count=count, actor=inv.operator)
    base = live_server.url
    page.goto(base + "/login/")
    page.locator(f"form.langs button[value={language}]").click()
    page.wait_for_load_state()
    page.fill("#id_username", inv.operator.username)
    page.fill("#id_password", "correct-horse-battery")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(base + "/**")
    page.goto(f"{base}/inventory/counts/{count.pk}/")
    room = page.locator(f"#count-progress tr[data-location='{inv.locations[0].id}']")
    assert room.locator("td.found").inner_text() == "0"
    assert room.locator("td.expected").inner_text() == "4"
    heading = {"kk": "Түгендеу", "ru": "Инвентаризация"}[language]
    assert heading in page.locator("h1").inner_text()
    shots(page, f"inventory-{language}-1-started")
    for n, asset in enumerate(assets[:3]):
        counting.record_scan(count=count, code=asset.barcode, location_id=asset.location_id, scan_ref=f"b:{n}")
    # the poll every 3 s brings the new figures in
    page.wait_for_function(
        f"document.querySelector(\"#count-progress tr[data-location='{inv.locations[0].id}'] td.found\")"
        ".innerText === '3'", timeout=10_000)
    other = page.locator(f"#count-progress tr[data-location='{inv.locations[1].id}'] td.found")
    assert other.inner_text() == "0"
    shots(page, f"inventory-{language}-2-progress")
