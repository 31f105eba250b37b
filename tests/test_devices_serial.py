"""Serial reading: framing by prefix, suffix and terminator, codepages, noise, and a scanner
unplugged and plugged back, through real pyserial I/O on a pseudo-terminal pair."""

import queue

import pytest

from devices.codes import classify, ean_check_digit, ean_valid
from devices.serial_reader import Framer, Line, PortSettings, SerialReader

from .devices_support import PtyScanner, wait_for


def test_ean_check_digits():
    assert ean_check_digit("400638133393") == 1  # 4006381333931, a textbook EAN-13
    assert ean_valid("4006381333931") and not ean_valid("4006381333932")
    assert ean_valid("96385074") and not ean_valid("96385075")  # EAN-8
    assert classify("4006381333932") == ("4006381333932", "bad_check_digit")
    assert classify(" 4006381333931 ") == ("4006381333931", None)
    # a register label (BIN + serial, 20 digits) is no EAN and is never check-digit flagged
    assert classify("01044010001100000001") == ("01044010001100000001", None)
    assert classify("\x00\x01")[1] == "noise" and classify("")[1] == "noise" and classify("x" * 129)[1] == "noise"
    assert classify("INV-1", partial=True)[1] == "partial"


@pytest.mark.parametrize("terminator,sep", [("CR", b"\r"), ("LF", b"\n"), ("CRLF", b"\r\n"), ("TAB", b"\t")])
def test_framer_cuts_lines_at_the_terminator_even_split_across_reads(terminator, sep):
    framer = Framer(terminator=terminator, prefix="]C1", suffix="#", codepage="ascii")
    stream = b"]C1ABC-1#" + sep + b"]C1ABC-2#" + sep + b"]C1AB"
    lines = []
    for i in range(len(stream)):  # one byte per read: the worst a UART does
        lines += framer.feed(stream[i:i + 1])
    assert [(ln.text, ln.partial) for ln in lines] == [("ABC-1", False), ("ABC-2", False)]
    rest = framer.flush()
    assert rest.partial and rest.text == "]C1AB"


def test_framer_flags_missing_prefix_bad_bytes_and_overlong_runs():
    framer = Framer(terminator="CR", prefix="STX", codepage="ascii")
    lines = framer.feed(b"STXgood\rbad-no-prefix\rSTX\xff\xfe\r" + b"z" * 600)
    assert [(ln.text, ln.partial, ln.noise) for ln in lines[:3]] == [
        ("good", False, False), ("bad-no-prefix", True, False), ("\ufffd\ufffd", False, True)]
    assert lines[3].noise and len(lines[3].raw) == 512


def test_framer_decodes_the_codepage():
    framer = Framer(terminator="CRLF", codepage="cp1251")
    assert framer.feed("Стол-Ә1\r\n".encode("cp1251", errors="replace"))[0].text == "Стол-?1"
    framer = Framer(terminator="CRLF", codepage="utf-8")
    assert framer.feed("Үстел-Қ1\r\n".encode())[0].text == "Үстел-Қ1"


def test_reader_reads_a_pty_and_survives_unplug_and_replug(tmp_path):
    link = tmp_path / "usb-scanner"
    scanner = PtyScanner(link, terminator=b"\r\n", prefix=b"[", suffix=b"]", codepage="cp866")
    got: queue.Queue[Line] = queue.Queue()
    states = []
    reader = SerialReader(PortSettings(port=str(link), baud=9600, parity="E", terminator="CRLF", prefix="[",
                                       suffix="]", codepage="cp866"), got.put,
                          on_state=lambda state, detail="": states.append(state), idle_flush=1.0,
                          backoff_min=0.05, backoff_max=0.2)
    thread = reader.start()
    try:
        wait_for(reader.connected.is_set)
        scanner.scan("ИНВ-0001")
        scanner.scan("ИНВ-0002")
        assert [got.get(timeout=5).text for _ in range(2)] == ["ИНВ-0001", "ИНВ-0002"]
        # a line cut in the middle: no terminator, then silence → handed over as partial
        scanner.write(b"[INV-00")
        cut = got.get(timeout=5)
        assert cut.partial and cut.text == "[INV-00"

        # unplugged mid-line, then nothing there for a while, then plugged back
        scanner.write(b"[HALF")
        wait_for(lambda: reader.framer.buffer == b"[HALF")  # read, not yet terminated
        scanner.unplug()
        half = got.get(timeout=5)
        assert half.partial and half.text == "[HALF"
        wait_for(lambda: not reader.connected.is_set())
        wait_for(lambda: states.count("waiting") >= 2)  # it keeps trying while the port is gone
        scanner.plug()
        wait_for(reader.connected.is_set)
        scanner.scan("ИНВ-0003")
        assert got.get(timeout=5).text == "ИНВ-0003"
        assert reader.reconnects == 1 and thread.is_alive()
        # garbage from a wrong baud rate does not stop it either
        scanner.write(b"\x00\xff\x13" * 300)
        scanner.scan("ИНВ-0004")
        lines = [got.get(timeout=5)]
        while lines[-1].text != "ИНВ-0004":
            lines.append(got.get(timeout=5))
        assert len(lines) >= 2 and all(line.noise for line in lines[:-1]) and not lines[-1].partial
    finally:
        reader.stop()
        thread.join(5)
        scanner.close()
    assert not thread.is_alive()


def test_agent_queue_persists_and_never_reuses_a_sequence_number(tmp_path):
    from devices.agent import ScanQueue

    first = ScanQueue(tmp_path / "a.sqlite3")
    one, two = first.put("A-1"), first.put("A-2", partial=True)
    assert two == one + 1
    assert first.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    first.mark([{"seq": one, "status": "found", "message": ""}])
    first.close()
    reopened = ScanQueue(tmp_path / "a.sqlite3")
    assert [(p["seq"], p["raw"], p["partial"]) for p in reopened.pending()] == [(two, "A-2", True)]
    assert reopened.put("A-3") == two + 1
    # the queue file lost and started again: its numbers start above anything sent before
    assert ScanQueue(tmp_path / "b.sqlite3").put("B-1") > two + 1
