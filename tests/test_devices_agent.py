"""The scanner agent end to end: a simulated scanner on a pseudo-terminal, real pyserial I/O,
the agent's on-disk queue, HTTP to the live server, the count. The server goes away and comes
back, answers get lost, the agent is restarted: every scan arrives, and each is counted once."""

import pytest

from devices.agent import Agent, ScanQueue
from devices.models import Scan
from devices.serial_reader import PortSettings
from inventory.models import CountItem
from inventory.models import Scan as CountScan
from tests.factories import build_world

from .devices_support import Proxy, PtyScanner, build_scanning, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def make_agent(server: str, s, queue_path, port=None) -> Agent:
    return Agent(server=server, device=s.device.pk, token=s.token, queue=ScanQueue(queue_path), port=port,
                 backoff_min=0.05, backoff_max=0.3, timeout=3, on_result=lambda result: None)


def test_scanner_to_count_through_the_agent(live_server, tmp_path):
    s = build_scanning(build_world())
    link = tmp_path / "scanner"
    scanner = PtyScanner(link, terminator=b"\r")
    agent = make_agent(live_server.url, s, tmp_path / "queue.sqlite3")
    registered = agent.fetch_settings()
    assert registered["terminator"] == "CR" and registered["id"] == s.device.pk
    agent.port = PortSettings(port=str(link), terminator=registered["terminator"], codepage=registered["codepage"])
    agent.start()
    try:
        wait_for(agent.reader.connected.is_set)
        for code in (s.code(0), s.code(1), s.code(0), "STRAY-LABEL"):
            scanner.scan(code)
        scanner.write(b"\x07\x00\x1b\r")  # line noise
        wait_for(lambda: Scan.objects.filter(device=s.device).count() == 5)
        wait_for(agent.drained)
    finally:
        agent.stop()
        scanner.close()
    flags = list(Scan.objects.filter(device=s.device).order_by("seq").values_list("flag", flat=True))
    assert flags == ["found", "found", "repeated", "unknown", "noise"]
    assert CountItem.objects.get(count=s.count, asset=s.assets[0]).scans == 2
    rows = agent.queue.db.execute("SELECT seq, state, status FROM scans ORDER BY seq").fetchall()
    stored = list(Scan.objects.filter(device=s.device).order_by("seq").values_list("seq", "flag"))
    assert [(seq, status) for seq, _state, status in rows] == stored


def test_server_down_lost_answers_and_restart_lose_nothing_and_count_once(live_server, tmp_path):
    s = build_scanning(build_world(), n=30)
    link = tmp_path / "scanner"
    scanner = PtyScanner(link, terminator=b"\n")
    proxy = Proxy(live_server.thread.port)  # not started: the server is unreachable
    queue_path = tmp_path / "queue.sqlite3"
    port = PortSettings(port=str(link), terminator="LF")
    agent = make_agent(proxy.url, s, queue_path, port)
    agent.start()
    try:
        wait_for(agent.reader.connected.is_set)
        for i in range(20):
            scanner.scan(s.code(i))
        wait_for(lambda: agent.queue.counts().get("pending") == 20)
        assert Scan.objects.count() == 0

        # the agent is stopped (workstation restarted) with everything still queued
        agent.stop()
        agent.queue.close()
        agent = make_agent(proxy.url, s, queue_path, port)
        agent.start()
        wait_for(agent.reader.connected.is_set)
        scanner.scan(s.code(20))

        proxy.start()  # the server is back
        wait_for(agent.drained)
        assert Scan.objects.filter(device=s.device).count() == 21

        # answers lost on the way back: the server records, the agent resends, counted once
        proxy.drop_responses = True
        for i in range(21, 25):
            scanner.scan(s.code(i))
        wait_for(lambda: Scan.objects.filter(device=s.device).count() == 25)
        wait_for(lambda: CountScan.objects.filter(count=s.count).count() == 25)
        assert agent.queue.counts().get("pending", 0) >= 1
        proxy.drop_responses = False
        wait_for(agent.drained)
    finally:
        agent.stop()
        proxy.stop()
        scanner.close()
    assert Scan.objects.filter(device=s.device).count() == 25
    assert CountScan.objects.filter(count=s.count).count() == 25
    assert set(Scan.objects.values_list("flag", flat=True)) == {"found"}
    assert list(CountItem.objects.filter(count=s.count, scans__gt=0).values_list("scans", flat=True)) == [1] * 25
    seqs = [seq for (seq,) in agent.queue.db.execute("SELECT seq FROM scans ORDER BY seq")]
    assert sorted(Scan.objects.values_list("seq", flat=True)) == seqs
    assert seqs == list(range(seqs[0], seqs[0] + 25))


def test_the_command_line_agent_takes_its_port_settings_from_the_registry(live_server, tmp_path):
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from devices import services

    s = build_scanning(build_world())
    link = tmp_path / "scanner"
    scanner = PtyScanner(link, terminator=b"\t", prefix=b"@")
    services.update_device(actor=s.operator, device=s.device, port=str(link), terminator="TAB", prefix="@",
                           codepage="utf-8")
    token_file = tmp_path / "token.txt"
    token_file.write_text(s.token + "\n")
    agent = subprocess.Popen(
        [sys.executable, "-m", "devices.agent", "--server", live_server.url, "--device", str(s.device.pk),
         "--token-file", str(token_file), "--queue", str(tmp_path / "q.sqlite3"), "--location",
         str(s.assets[0].location_id)],
        cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: Scan.objects.exists() or scanner.scan(s.code(0)) or False, timeout=30, step=0.5)
        scanner.scan(s.code(1))  # booked in the other room
        wait_for(lambda: Scan.objects.filter(code=s.code(1)).exists(), timeout=30)
    finally:
        agent.send_signal(signal.SIGTERM)
        output = agent.communicate(timeout=20)[0]
        scanner.close()
    assert agent.returncode == 0, output
    assert Scan.objects.filter(code=s.code(1), location_id=s.assets[0].location_id).get().flag == "other_location"
    assert "OK" in output and s.assets[0].name in output
