"""Reading a serial barcode scanner with pyserial. No Django here: the agent runs at a workstation.

A scanner sends each code as bytes: [prefix] code [suffix] terminator. `Framer` cuts the byte
stream into lines and decodes them in the scanner's codepage; `SerialReader` keeps the port
open, and when the scanner is unplugged (the read fails, the port vanishes) it closes the port,
hands over what was half-read as a partial line, and tries again with growing pauses until
the scanner is back. Nothing a scanner sends can stop the reader: bad bytes become a line
flagged as noise.
"""

import logging
import threading
import time
from dataclasses import dataclass

import serial

log = logging.getLogger("devices.serial")

TERMINATORS = {"CR": b"\r", "LF": b"\n", "CRLF": b"\r\n", "TAB": b"\t"}
PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD, "M": serial.PARITY_MARK,
            "S": serial.PARITY_SPACE}
LINE_MAX = 512  # bytes; a longer run without a terminator is noise (a wrong baud rate looks like this)


@dataclass(frozen=True)
class Line:
    text: str  # decoded, prefix and suffix removed
    raw: bytes  # as received, without the terminator
    partial: bool = False  # no terminator (timeout or unplug) or the prefix/suffix is missing
    noise: bool = False  # undecodable or overlong


class Framer:
    """Cuts a byte stream into scanner lines."""

    def __init__(self, *, terminator: str = "CR", prefix: str = "", suffix: str = "", codepage: str = "ascii"):
        self.terminator = TERMINATORS[terminator]
        self.codepage = codepage
        self.prefix = prefix.encode(codepage)
        self.suffix = suffix.encode(codepage)
        self.buffer = b""

    def feed(self, data: bytes) -> list[Line]:
        self.buffer += data
        lines = []
        while True:
            head, sep, rest = self.buffer.partition(self.terminator)
            if not sep:
                break
            self.buffer = rest
            if self.terminator == b"\r\n":
                head = head.replace(b"\r", b"")  # a stray CR of a line cut by a replug
            elif self.terminator in (b"\r", b"\n"):
                head = head.strip(b"\r\n")  # CR scanners set to CRLF by mistake still read
            if head and self.prefix and not head.startswith(self.prefix) and self.prefix in head:
                # garbage ran into a good scan (wrong baud rate, a replug mid-byte): resync at
                # the last prefix, the part before is noise
                cut = head.rfind(self.prefix)
                lines.append(Line(self._decode(head[:cut])[0], head[:cut], noise=True))
                head = head[cut:]
            if head:
                lines.append(self._line(head))
        if len(self.buffer) > LINE_MAX:
            lines.append(Line(self._decode(self.buffer[:LINE_MAX])[0], self.buffer[:LINE_MAX], noise=True))
            self.buffer = b""
        return lines

    def flush(self) -> Line | None:
        """What was read after the last terminator, as a partial line (or None)."""
        rest, self.buffer = self.buffer.strip(b"\r\n"), b""
        if not rest:
            return None
        text, bad = self._decode(rest)
        return Line(text, rest, partial=True, noise=bad)

    def _decode(self, data: bytes) -> tuple[str, bool]:
        try:
            return data.decode(self.codepage), False
        except UnicodeDecodeError:
            return data.decode(self.codepage, errors="replace"), True

    def _line(self, data: bytes) -> Line:
        partial = False
        body = data
        if self.prefix:
            if body.startswith(self.prefix):
                body = body[len(self.prefix):]
            else:
                partial = True
        if self.suffix:
            if body.endswith(self.suffix):
                body = body[: -len(self.suffix)]
            else:
                partial = True
        text, bad = self._decode(body)
        return Line(text, data, partial=partial, noise=bad)


@dataclass
class PortSettings:
    port: str
    baud: int = 9600
    parity: str = "N"
    terminator: str = "CR"
    prefix: str = ""
    suffix: str = ""
    codepage: str = "ascii"


class SerialReader:
    """Reads lines from a serial scanner until stopped, surviving unplug and replug.

    `on_line(Line)` is called from the reader's thread for every line. `idle_flush` seconds
    after the last byte an unterminated rest is handed over as a partial line (a scanner sends
    a whole code at once, so a rest that waits is a cut line). `backoff` starts at
    `backoff_min` and doubles up to `backoff_max` while the port cannot be opened."""

    def __init__(self, settings: PortSettings, on_line, *, idle_flush: float = 1.0, backoff_min: float = 0.1,
                 backoff_max: float = 5.0, on_state=None):
        self.settings = settings
        self.on_line = on_line
        self.on_state = on_state or (lambda state, detail="": None)
        self.idle_flush = idle_flush
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.stop_event = threading.Event()
        self.framer = Framer(terminator=settings.terminator, prefix=settings.prefix, suffix=settings.suffix,
                             codepage=settings.codepage)
        self.connected = threading.Event()
        self.reconnects = 0

    def stop(self) -> None:
        self.stop_event.set()

    def _open(self) -> serial.Serial:
        s = self.settings
        return serial.Serial(s.port, baudrate=s.baud, parity=PARITIES.get(s.parity, serial.PARITY_NONE),
                             bytesize=serial.EIGHTBITS, stopbits=serial.STOPBITS_ONE, timeout=0.1)

    def _emit(self, line: Line | None) -> None:
        if line is None:
            return
        try:
            self.on_line(line)
        except Exception:  # a failing consumer must not stop the reading
            log.exception("line handler failed")

    def run(self) -> None:
        backoff = self.backoff_min
        while not self.stop_event.is_set():
            try:
                port = self._open()
            except (serial.SerialException, OSError, ValueError) as exc:
                self.on_state("waiting", str(exc))
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, self.backoff_max)
                continue
            backoff = self.backoff_min
            self.connected.set()
            self.on_state("connected", self.settings.port)
            last_byte = time.monotonic()
            try:
                while not self.stop_event.is_set():
                    # read(1) returns at the first byte (or the 0.1 s timeout), then whatever else
                    # has arrived: a line is handed over as soon as it is there, not after a timeout
                    data = port.read(1)
                    if data:
                        data += port.read(min(port.in_waiting, 4096))
                    now = time.monotonic()
                    if data:
                        last_byte = now
                        for line in self.framer.feed(data):
                            self._emit(line)
                    elif self.framer.buffer and now - last_byte >= self.idle_flush:
                        self._emit(self.framer.flush())
            except (serial.SerialException, OSError, TypeError) as exc:
                # unplugged: pyserial raises on the failed read (EIO on a hung-up tty)
                self.on_state("lost", str(exc))
                self.reconnects += 1
            finally:
                self.connected.clear()
                self._emit(self.framer.flush())
                try:
                    port.close()
                except Exception:  # closing a vanished port may fail too; nothing to keep
                    pass
        self.on_state("stopped", "")

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name=f"serial:{self.settings.port}", daemon=True)
        thread.start()
        return thread
