"""The scan page on a 360 px handheld terminal, driven as a keyboard-wedge scanner drives it:
the scanner "types" the code and Enter into whatever has the focus."""

import pytest

from devices.models import Scan
from inventory.models import CountItem
from tests.devices_support import PASSWORD, build_scanning
from tests.factories import build_world

from .conftest import TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def handheld(chromium):
    context = chromium.new_context(viewport={"width": 360, "height": 640}, locale="ru-RU", has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def test_wedge_scanner_types_into_the_scan_page(live_server, handheld, shots):
    s = build_scanning(build_world())
    page, base = handheld, live_server.url
    page.goto(base + "/login/")
    page.fill("#id_username", s.operator.username)
    page.fill("#id_password", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(base + "/")
    page.goto(base + "/devices/scan/")
    location = s.assets[0].location
    page.select_option("#scan-location", str(location.pk))
    assert page.evaluate("document.activeElement.id") == "scan-code"
    # nothing wider than the terminal's screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    result = page.locator("#scan-result")

    def wedge(code: str, status: str) -> None:
        page.keyboard.type(code, delay=5)  # the scanner types fast, into the focused input
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#scan-log li:first-child[data-status={status}]")
        assert result.get_attribute("data-status") == status

    wedge(s.code(0), "found")
    assert "st-found" in result.get_attribute("class")
    assert "1" in result.inner_text() and s.assets[0].name in result.inner_text()
    shots(page, "devices-scan-found")
    assert page.locator("#scan-location option:checked").inner_text().endswith("(1/5)")
    wedge(s.code(0), "repeated")
    assert "st-repeated" in result.get_attribute("class")
    # a tap somewhere on the page does not lose the focus the scanner types into
    page.locator("h1").click()
    wedge("NO-SUCH-LABEL", "unknown")
    assert "st-bad" in result.get_attribute("class")
    shots(page, "devices-scan-unknown")
    assert page.evaluate("document.activeElement.id") == "scan-code"
    assert page.evaluate("getComputedStyle(document.getElementById('scan-result')).backgroundColor") \
        == "rgb(253, 226, 223)"
    assert list(Scan.objects.order_by("id").values_list("flag", flat=True)) == ["found", "repeated", "unknown"]
    assert CountItem.objects.get(count=s.count, asset=s.assets[0]).scans == 2
    assert page.evaluate("localStorage.getItem('esep-scan-pending')") == "[]"
