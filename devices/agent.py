"""The scanner agent: runs at a workstation, reads a serial scanner and sends each scan to
Esep with the device's id and a sequence number, through a store-and-forward queue on disk.

    python -m devices.agent --server https://esep.example --device 7 --token-file token.txt \
        --port /dev/serial/by-id/usb-scanner --queue scans.sqlite3

(or `manage.py scanner_agent` with the same options). No Django here, only the standard
library, pyserial and requests, so it runs on a workstation without the server's code base.

Guarantees:
- a line is committed to the queue (sqlite3, WAL, synchronous=FULL: fsync'ed) before anything
  else happens to it, so a crash, a power cut or an unreachable server loses nothing
- every line gets the next sequence number of the queue; the server stores (device, seq) once,
  so a scan resent after a lost acknowledgement is counted once
- a new queue file starts its numbers at the current time in microseconds, above anything an
  earlier (lost or deleted) queue of the same device can have sent
- the agent never stops on input: noise, cut lines and refused scans are sent or kept flagged
"""

import argparse
import json
import logging
import os
import signal
import sqlite3
import sys
import threading
import time
from pathlib import Path

import requests

from devices.codes import classify
from devices.serial_reader import Line, PortSettings, SerialReader

log = logging.getLogger("devices.agent")
SEND_BATCH = 100


class ScanQueue:
    """The agent's on-disk queue of scans, sent or not."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.lock = threading.Lock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # fsync at every commit: a queued scan survives a power cut
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS scans (seq INTEGER PRIMARY KEY, raw TEXT NOT NULL, partial INTEGER NOT NULL,"
            " noise INTEGER NOT NULL DEFAULT 0,"
            " scanned_at TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', status TEXT, message TEXT,"
            " tries INTEGER NOT NULL DEFAULT 0, sent_at TEXT)")
        self.db.execute("CREATE INDEX IF NOT EXISTS scans_pending ON scans(state, seq)")
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key='seq_base'").fetchone()
            if row is None:
                self.db.execute("INSERT INTO meta VALUES ('seq_base', ?)", (str(time.time_ns() // 1000),))

    def put(self, raw: str, *, partial: bool = False, noise: bool = False, scanned_at: str | None = None) -> int:
        scanned_at = scanned_at or time.strftime("%Y-%m-%dT%H:%M:%S%z")
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                last = self.db.execute("SELECT max(seq) FROM scans").fetchone()[0]
                if last is None:
                    last = int(self.db.execute("SELECT value FROM meta WHERE key='seq_base'").fetchone()[0])
                seq = last + 1
                self.db.execute("INSERT INTO scans (seq, raw, partial, noise, scanned_at) VALUES (?, ?, ?, ?, ?)",
                                (seq, raw, int(partial), int(noise), scanned_at))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return seq

    def pending(self, limit: int = SEND_BATCH) -> list[dict]:
        with self.lock:
            rows = self.db.execute("SELECT seq, raw, partial, noise, scanned_at FROM scans WHERE state='pending'"
                                   " ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [{"seq": s, "raw": r, "partial": bool(p), "noise": bool(n), "scanned_at": a} for s, r, p, n, a in rows]

    def mark(self, results: list[dict]) -> None:
        now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            for item in results:
                state = "rejected" if item.get("status") == "rejected" else "sent"
                self.db.execute("UPDATE scans SET state=?, status=?, message=?, sent_at=?, tries=tries+1"
                                " WHERE seq=?", (state, item.get("status"), item.get("message", ""), now,
                                                 item["seq"]))
            self.db.execute("COMMIT")

    def counts(self) -> dict[str, int]:
        with self.lock:
            return dict(self.db.execute("SELECT state, count(*) FROM scans GROUP BY state").fetchall())

    def get_meta(self, key: str) -> str | None:
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def close(self) -> None:
        with self.lock:
            self.db.close()


class Agent:
    """Reader thread: serial port → queue. Sender thread: queue → server, oldest first."""

    def __init__(self, *, server: str, device: int, token: str, queue: ScanQueue, port: PortSettings | None = None,
                 location: int | None = None, count: int | None = None, timeout: float = 5.0,
                 backoff_min: float = 0.2, backoff_max: float = 5.0, on_result=None, language: str = "ru"):
        self.server = server.rstrip("/")
        self.device = device
        self.queue = queue
        self.port = port
        self.location = location
        self.count = count
        self.timeout = timeout
        self.backoff_min = backoff_min
        self.backoff_max = backoff_max
        self.on_result = on_result or self._print_result
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Device {token}", "Accept-Language": language})
        self.stop_event = threading.Event()
        self.wake = threading.Event()
        self.reader: SerialReader | None = None
        self.threads: list[threading.Thread] = []

    # -- configuration --------------------------------------------------------------------
    def fetch_settings(self) -> dict | None:
        """The device's record on the server (port settings); cached in the queue for the
        next start without the server."""
        try:
            response = self.http.get(f"{self.server}/api/v1/devices/me/", timeout=self.timeout)
        except requests.RequestException as exc:
            log.warning("server unreachable for settings: %s", exc)
            cached = self.queue.get_meta("device")
            return json.loads(cached) if cached else None
        if response.status_code != 200:
            log.error("device settings refused: HTTP %s %s", response.status_code, response.text[:200])
            return None
        data = response.json()
        self.queue.set_meta("device", json.dumps(data))
        return data

    # -- reading --------------------------------------------------------------------------
    def take_line(self, line: Line) -> int:
        seq = self.queue.put(line.text, partial=line.partial, noise=line.noise)
        code, flag = classify(line.text, partial=line.partial, noise=line.noise)
        if flag:
            log.warning("scan %s flagged %s: %r", seq, flag, line.raw[:60])
        self.wake.set()
        return seq

    def _on_state(self, state: str, detail: str = "") -> None:
        log.info("scanner %s %s", state, detail)

    # -- sending --------------------------------------------------------------------------
    def send_pending(self) -> int:
        """One round: send up to SEND_BATCH queued scans. Returns how many were acknowledged;
        raises requests.RequestException when the server cannot be reached or fails."""
        items = self.queue.pending()
        if not items:
            return 0
        for item in items:
            item["location"] = self.location
            item["count"] = self.count
        response = self.http.post(f"{self.server}/api/v1/devices/scans/",
                                  json={"device": self.device, "scans": items}, timeout=self.timeout)
        if response.status_code >= 500 or response.status_code in (401, 403, 429):
            raise requests.HTTPError(f"HTTP {response.status_code}: {response.text[:200]}", response=response)
        if response.status_code != 200:
            # the whole request was refused (a bug or a wrong device id): keep the scans queued
            raise requests.HTTPError(f"HTTP {response.status_code}: {response.text[:300]}", response=response)
        results = response.json()["results"]
        # the operator hears the outcome first; the queue's bookkeeping (an fsync) follows. A
        # crash in between resends the scans, which the server answers as duplicates.
        for result in results:
            try:
                self.on_result(result)
            except Exception:  # a failing display must not stop the sending
                log.exception("result handler failed")
        self.queue.mark(results)
        return len(results)

    def _print_result(self, result: dict) -> None:
        mark = {"found": "OK", "repeated": "==", "other_location": "<>"}.get(result.get("status"), "!!")
        tail = f" {result.get('found')}/{result.get('expected')}" if result.get("expected") is not None else ""
        print(f"{mark} #{result['seq']} {result.get('code', '')} {result.get('status')}: "
              f"{result.get('asset_name') or result.get('message', '')}{tail}", flush=True)

    def sender_loop(self) -> None:
        backoff = self.backoff_min
        while not self.stop_event.is_set():
            try:
                sent = self.send_pending()
            except (requests.RequestException, ValueError, KeyError) as exc:
                log.warning("server unavailable, %s scans waiting: %s", self.queue.counts().get("pending", 0), exc)
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, self.backoff_max)
                continue
            except Exception:  # noqa: BLE001 (disk full, a locked queue…): log, wait, try again; never die
                log.exception("sending failed")
                self.stop_event.wait(backoff)
                backoff = min(backoff * 2, self.backoff_max)
                continue
            backoff = self.backoff_min
            if sent == 0:
                self.wake.wait(0.5)
                self.wake.clear()

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        if self.port is not None:
            self.reader = SerialReader(self.port, self.take_line, on_state=self._on_state)
            self.threads.append(self.reader.start())
        sender = threading.Thread(target=self.sender_loop, name="sender", daemon=True)
        sender.start()
        self.threads.append(sender)

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_event.set()
        self.wake.set()
        if self.reader:
            self.reader.stop()
        for thread in self.threads:
            thread.join(timeout)
        self.http.close()  # no idle keep-alive connection left holding a server worker

    def drained(self) -> bool:
        return self.queue.counts().get("pending", 0) == 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scanner_agent", description="Esep serial scanner agent")
    p.add_argument("--server", required=True, help="Esep address, e.g. https://esep.example")
    p.add_argument("--device", type=int, required=True, help="the scanner's id in Esep")
    p.add_argument("--token", default=os.environ.get("ESEP_DEVICE_TOKEN", ""),
                   help="the device token (or ESEP_DEVICE_TOKEN, or --token-file)")
    p.add_argument("--token-file", help="file holding the device token")
    p.add_argument("--queue", default="esep-scans.sqlite3", help="the queue file (kept between runs)")
    p.add_argument("--port", help="serial port; default: the port registered in Esep")
    p.add_argument("--baud", type=int)
    p.add_argument("--parity", choices=["N", "E", "O", "M", "S"])
    p.add_argument("--terminator", choices=["CR", "LF", "CRLF", "TAB"])
    p.add_argument("--prefix")
    p.add_argument("--suffix")
    p.add_argument("--codepage")
    p.add_argument("--location", type=int, help="location id being counted")
    p.add_argument("--count", type=int, help="inventory count id (default: the only open count)")
    p.add_argument("--language", default="ru", choices=["kk", "ru", "en"])
    p.add_argument("--verbose", action="store_true")
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    token = args.token
    if args.token_file:
        token = Path(args.token_file).read_text(encoding="utf-8").strip()
    if not token:
        print("no device token: use --token, --token-file or ESEP_DEVICE_TOKEN", file=sys.stderr)
        return 2
    queue = ScanQueue(args.queue)
    agent = Agent(server=args.server, device=args.device, token=token, queue=queue, location=args.location,
                  count=args.count, language=args.language)
    registered = agent.fetch_settings() or {}
    settings = PortSettings(
        port=args.port or registered.get("port") or "",
        baud=args.baud or registered.get("baud") or 9600,
        parity=args.parity or registered.get("parity") or "N",
        terminator=args.terminator or registered.get("terminator") or "CR",
        prefix=args.prefix if args.prefix is not None else registered.get("prefix", ""),
        suffix=args.suffix if args.suffix is not None else registered.get("suffix", ""),
        codepage=args.codepage or registered.get("codepage") or "ascii",
    )
    if not settings.port:
        print("no serial port: use --port or register the port in Esep", file=sys.stderr)
        return 2
    agent.port = settings
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    agent.start()
    log.info("agent running: device %s, port %s, queue %s (%s)", args.device, settings.port, args.queue,
             queue.counts())
    while not stop.is_set():
        stop.wait(1)
    agent.stop()
    queue.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
