"""A count in progress to scan into: institution A of the `world` with two locations, a
responsible person, `n` assets with register labels, an inventory operator, a started count
and a registered serial scanner with its token.

Assets are put into the register with the ORM: the scanner tests need labelled assets, not
the receipt's postings (the receipt is the inventory tests' subject). Locations, the
responsible person and the count go through inventory.services."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from access import services as access_services
from access.roles import Role
from devices import services
from inventory import barcodes
from inventory import services as inventory
from inventory.models import Asset, InventoryCount

from .factories import YEAR, make_iin

PASSWORD = "correct-horse-battery"


@dataclass
class Scanning:
    world: object
    operator: object
    operator_b: object
    locations: list
    assets: list
    count: InventoryCount
    device: object
    token: str

    def code(self, i: int) -> str:
        return self.assets[i].barcode


def make_operator(username: str, serial: str, institution):
    user = access_services.create_user(actor=None, username=username, password=PASSWORD, last_name="Складова",
                                       first_name="Тест", iin=make_iin("900101", serial))
    access_services.grant_role(actor=None, user=user, institution=institution, role=Role.INVENTORY_OPERATOR)
    return user


def build_scanning(world, *, n: int = 10, start: bool = True) -> Scanning:
    operator = make_operator("operator_a", "6", world.a)
    operator_b = make_operator("operator_b", "7", world.b)
    locations = [inventory.create_location(institution=world.a, actor=operator, code=f"10{i}", name=f"Кабинет 10{i}")
                 for i in (1, 2)]
    person = inventory.create_responsible_person(institution=world.a, actor=operator, full_name="Материалова А.")
    assets = Asset.objects.bulk_create([
        Asset(institution=world.a, inventory_number=f"{i:08d}", name=f"Стол {i}", account="2350", specific="414",
              administrator="261", programme="003", subprogramme="015", funding_source="budget_local",
              location=locations[i % 2], responsible=person, quantity=Decimal(1), cost=Decimal("10000.00"),
              acquired_on=dt.date(YEAR - 1, 1, 10), barcode=barcodes.make(world.a.bin, i))
        for i in range(1, n + 1)])
    count = inventory.create_count(institution=world.a, actor=operator, number="INV-1",
                                   order_date=dt.date(YEAR, 10, 1), count_date=dt.date(YEAR, 10, 15),
                                   chairman="Председатель", members=["Член 1", "Член 2"])
    if start:
        count = inventory.start_count(count=count, actor=operator)
    device, token = services.create_device(actor=operator, institution=world.a, label="Сканер 1", kind="serial",
                                           port="/dev/ttyUSB0", terminator="CR")
    return Scanning(world, operator, operator_b, locations, assets, count, device, token)


def ean13(body12: str) -> str:
    from devices.codes import ean_check_digit

    return body12 + str(ean_check_digit(body12))


def wrong_ean13(body12: str) -> str:
    right = ean13(body12)
    return right[:-1] + str((int(right[-1]) + 1) % 10)


class PtyScanner:
    """A simulated serial barcode scanner on a pseudo-terminal pair: the test writes to the
    master side as the scanner would; the reader opens the slave through a stable symlink (as a
    real scanner appears under /dev/serial/by-id/), so unplug and replug keep the path."""

    def __init__(self, link, *, terminator: bytes = b"\r", prefix: bytes = b"", suffix: bytes = b"",
                 codepage: str = "ascii"):
        import os

        self.link = str(link)
        self.terminator, self.prefix, self.suffix, self.codepage = terminator, prefix, suffix, codepage
        self.master = self.slave = None
        self._os = os
        self.plug()

    def plug(self) -> None:
        os = self._os
        self.master, self.slave = os.openpty()
        tmp = self.link + ".new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(os.ttyname(self.slave), tmp)
        os.replace(tmp, self.link)  # atomic: the reader never sees a missing link mid-swap

    def unplug(self) -> None:
        os = self._os
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.master = self.slave = None
        os.unlink(self.link)

    def write(self, data: bytes) -> None:
        self._os.write(self.master, data)

    def scan(self, code: str) -> None:
        self.write(self.prefix + code.encode(self.codepage) + self.suffix + self.terminator)

    def close(self) -> None:
        if self.master is not None:
            self.unplug()


def wait_for(predicate, timeout: float = 10.0, step: float = 0.02):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")


class Proxy:
    """A TCP relay in front of the live server that the test switches off and on ("server
    down"), or makes swallow the server's answers ("acknowledgement lost": the server has
    recorded the scans, the agent never hears it)."""

    def __init__(self, target_port: int, port: int = 0):
        import socket
        import threading

        self.target_port = target_port
        self.drop_responses = False
        self._socket, self._threading = socket, threading
        self.listener = None
        self.connections: list = []
        probe = socket.socket()
        probe.bind(("127.0.0.1", port))
        self.port = probe.getsockname()[1]
        probe.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        socket = self._socket
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(16)
        self._threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        for conn in self.connections:
            self._close(conn)
        self.connections = []

    def _close(self, conn) -> None:
        # shutdown first: a close() alone does not wake the other pump thread blocked in recv()
        # on the same socket, and the server would keep the connection (and its worker) open
        try:
            conn.shutdown(self._socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            conn.close()
        except OSError:
            pass

    def _accept(self, listener) -> None:
        while True:
            try:
                client, _addr = listener.accept()
            except OSError:
                return
            upstream = self._socket.create_connection(("127.0.0.1", self.target_port))
            self.connections += [client, upstream]
            self._threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            self._threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source, sink, is_answer: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if is_answer and self.drop_responses:
                    break  # the answer is lost on the way back
                sink.sendall(data)
        except OSError:
            pass
        for conn in (source, sink):
            self._close(conn)
