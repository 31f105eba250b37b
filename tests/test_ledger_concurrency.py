"""Concurrency on real connections: posters racing a period close, and racing corrections.

Each thread opens its own database connection (Django's are per thread) and closes it at the
end. Nothing may hang: every join has a timeout and a thread still alive fails the test."""

import datetime as dt
import random
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from access.errors import ControlError
from access.models import ActionLog
from ledger.models import CorrectionLog, EntrySeal, JournalEntry, PeriodTransition, Turnover
from ledger.services import close_period, correct_entry, post_entry
from ledger.verification import verify_all, verify_turnovers

from .factories import line, pair

POSTERS = 8
AFTER_CLOSE_ATTEMPTS = 3  # each poster tries again after its first refusal: all must be refused
JOIN_SECONDS = 120


def run_threads(targets) -> None:
    threads = [threading.Thread(target=t, daemon=True) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_SECONDS)
    alive = [t.name for t in threads if t.is_alive()]
    assert not alive, f"threads still running after {JOIN_SECONDS} s (a lock wait that never ends?): {alive}"


def in_own_connection(fn):
    def run(*args):
        try:
            fn(*args)
        finally:
            connection.close()

    return run


class Race:
    """Posters into March 2026 of institution A and one closer of March, on their own connections.

    Each poster posts until it sees the period closed or its time is up; then, once the close
    has committed, it tries AFTER_CLOSE_ATTEMPTS more times: every one must be refused."""

    def __init__(self, world, *, posting_seconds: float, pause_seconds_max: float):
        self.world = world
        self.march = world.periods_a[3]
        self.posting_seconds = posting_seconds
        self.pause_seconds_max = pause_seconds_max
        self.start = threading.Barrier(POSTERS + 1)
        self.closed = threading.Event()
        self.posted: dict[int, list[tuple[int, str, Decimal]]] = {i: [] for i in range(POSTERS)}
        self.refused_while_racing = dict.fromkeys(range(POSTERS), 0)
        self.refused_after_close = dict.fromkeys(range(POSTERS), 0)
        self.unexpected: list[str] = []
        self.close_requested = self.close_done = None

    def attempt(self, i: int, k: int) -> str:
        account = "7060" if (i + k) % 2 else "7010"
        amount = Decimal(i * 10000 + k + 1).scaleb(-2)
        try:
            entry = post_entry(institution=self.world.a, actor=self.world.accountant_a,
                               draft=pair(dt.date(2026, 3, 1 + k % 31), amount, debit=account, doc_number=f"P{i}-{k}"))
        except ControlError as error:
            if error.code != "FLC-PER-001":
                self.unexpected.append(f"poster {i}: {error.code}")
            return error.code
        except Exception as error:  # a deadlock or any other database error fails the test
            self.unexpected.append(f"poster {i}: {error!r}")
            return "error"
        self.posted[i].append((entry.id, account, amount))
        return "posted"

    def poster(self, i: int) -> None:
        try:
            pause = random.Random(i)
            self.start.wait()
            deadline = time.monotonic() + self.posting_seconds
            k = 0
            while time.monotonic() < deadline:
                outcome = self.attempt(i, k)
                k += 1
                if outcome == "FLC-PER-001":
                    self.refused_while_racing[i] += 1
                    break
                if outcome != "posted":
                    return
                time.sleep(pause.uniform(0, self.pause_seconds_max))  # a user's think time
            if not self.closed.wait(JOIN_SECONDS):
                self.unexpected.append(f"poster {i}: the close never committed")
                return
            for _ in range(AFTER_CLOSE_ATTEMPTS):
                k += 1
                if self.attempt(i, k) == "FLC-PER-001":
                    self.refused_after_close[i] += 1
                else:
                    self.unexpected.append(f"poster {i}: accepted after the close")
        finally:
            connection.close()

    def closer(self) -> None:
        try:
            self.start.wait()
            time.sleep(0.3)
            self.close_requested = time.monotonic()
            close_period(period=self.march, actor=self.world.chief_a)
            self.close_done = time.monotonic()
        except Exception as error:
            self.unexpected.append(f"closer: {error!r}")
        finally:
            self.closed.set()
            connection.close()

    def run(self) -> None:
        run_threads([self.closer] + [lambda i=i: self.poster(i) for i in range(POSTERS)])

    def successes(self):
        return [p for per_thread in self.posted.values() for p in per_thread]


@pytest.mark.django_db(transaction=True)
def test_posters_racing_a_close_lose_nothing_and_land_nothing_in_the_closed_period(world):
    race = Race(world, posting_seconds=3.0, pause_seconds_max=0.02)
    race.run()

    assert race.unexpected == []
    successes = race.successes()
    assert successes, "no poster got an entry in before the close: the race was not run"
    assert all(race.refused_after_close[i] == AFTER_CLOSE_ATTEMPTS for i in range(POSTERS))

    # nothing landed in March after the close
    march = race.march
    transition = PeriodTransition.objects.get(period=march, to_status="closed")
    seals = EntrySeal.objects.filter(institution=world.a)
    assert seals.count() == len(successes) == JournalEntry.objects.filter(institution=world.a).count()
    assert set(seals.values_list("entry_id", flat=True)) == {entry_id for entry_id, *_ in successes}
    assert not seals.filter(sealed_at__gte=transition.at).exists()
    # in the action journal's own order (seq is given under its chain lock), every accepted post
    # comes before the close
    close_seq = ActionLog.objects.get(action="close", outcome="success").seq
    post_seqs = list(ActionLog.objects.filter(action="post", outcome="success").values_list("seq", flat=True))
    assert len(post_seqs) == len(successes) and max(post_seqs) < close_seq

    # no turnover update was lost: the turnovers hold exactly the accepted amounts
    for account in ("7060", "7010"):
        expected = sum((amount for _id, acc, amount in successes if acc == account), Decimal(0))
        stored = Turnover.objects.filter(institution=world.a, period=march, account=world.accounts[account])
        assert sum((t.debit for t in stored), Decimal(0)) == expected
    cash = Turnover.objects.get(institution=world.a, period=march, account=world.accounts["1010"])
    assert cash.credit == sum((amount for *_, amount in successes), Decimal(0))
    assert verify_turnovers() == []
    assert verify_all() == []


@pytest.mark.django_db(transaction=True)
def test_a_close_is_not_starved_by_continuous_posting(world):
    # Posters in a tight loop for up to 5 s; the close, asked for at 0.3 s, must not wait for
    # them to stop. Shared row locks are granted past a waiting exclusive locker, so without a
    # fair (heavyweight) lock the close waits as long as some poster holds the period.
    race = Race(world, posting_seconds=5.0, pause_seconds_max=0.0)
    race.run()
    assert race.unexpected == []
    assert race.close_done is not None
    assert race.close_done - race.close_requested < 2.0
    assert all(race.refused_while_racing[i] == 1 for i in range(POSTERS))


@pytest.mark.django_db(transaction=True)
def test_simultaneous_corrections_of_one_entry_admit_exactly_one(world):
    original = post_entry(institution=world.a, actor=world.accountant_a, draft=pair(dt.date(2026, 3, 3), "90.00"))
    racers = 4
    start = threading.Barrier(racers)
    outcomes: list[str] = []

    @in_own_connection
    def corrector(i):
        start.wait()
        try:
            correct_entry(entry=original, actor=world.accountant_a, reason=f"исправление {i}",
                          date=dt.date(2026, 3, 20), lines=[line("7010", "D", "90.00"), line("1010", "C", "90.00")])
            outcomes.append("corrected")
        except ControlError as error:
            outcomes.append(error.code)
        except Exception as error:
            outcomes.append(repr(error))

    run_threads([lambda i=i: corrector(i) for i in range(racers)])

    assert sorted(outcomes) == ["already_corrected"] * (racers - 1) + ["corrected"]
    assert CorrectionLog.objects.filter(original=original).count() == 1
    assert JournalEntry.objects.filter(institution=world.a).count() == 3
    assert verify_all() == []


@pytest.mark.django_db(transaction=True)
def test_two_institutions_posting_at_once_keep_separate_gap_free_chains(world):
    per_thread = 15
    start = threading.Barrier(4)
    errors: list[str] = []

    @in_own_connection
    def poster(institution, actor, i):
        start.wait()
        try:
            for k in range(per_thread):
                post_entry(institution=institution, actor=actor,
                           draft=pair(dt.date(2026, 5, 1 + k), Decimal(i * 100 + k + 1), doc_number=f"{i}-{k}"))
        except Exception as error:
            errors.append(repr(error))

    run_threads([lambda i=i, inst=inst, who=who: poster(inst, who, i)
                 for i, (inst, who) in enumerate([(world.a, world.accountant_a), (world.a, world.chief_a),
                                                  (world.b, world.accountant_b), (world.b, world.accountant_b)])])

    assert errors == []
    for institution in (world.a, world.b):
        seqs = sorted(EntrySeal.objects.filter(institution=institution).values_list("seq", flat=True))
        assert seqs == list(range(1, 2 * per_thread + 1))
    assert verify_all() == []
