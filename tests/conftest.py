"""Shared fixtures of the cross-app tests: a minimal reference set and two institutions.

Transactional tests (`django_db(transaction=True)`) end with Django's flush, a TRUNCATE of
every table. The ledger's and the journal's tables refuse TRUNCATE by trigger (that is the
point of them), so the flush runs with every pgtrigger trigger ignored: pgtrigger sets the
transaction-local `pgtrigger.ignore` variable that each trigger function checks first.
Nothing but the test teardown runs under that ignore.
"""

import django.test
import pgtrigger
import pytest

from ledger import reference

from .factories import World, build_world

_original_fixture_teardown = django.test.TransactionTestCase._fixture_teardown


def _fixture_teardown_ignoring_triggers(self):
    with pgtrigger.ignore():  # no URI: every trigger the registry knows, *_no_truncate included
        _original_fixture_teardown(self)


django.test.TransactionTestCase._fixture_teardown = _fixture_teardown_ignoring_triggers


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """PBKDF2 with its production work factor costs ~0.3 s a user; tests need no such cost."""
    from django.conf import settings

    saved = settings.PASSWORD_HASHERS
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield
    settings.PASSWORD_HASHERS = saved


@pytest.fixture(autouse=True)
def _fresh_reference_cache():
    """The reference snapshot is cached per process; rows of a rolled-back test must not leak
    into the next one."""
    reference.invalidate()
    yield
    reference.invalidate()


@pytest.fixture
def world(db) -> World:
    """Accounts, specifics, a programme, funding sources; institutions A and B; users with roles
    (chief accountant, accountant, auditor and payroll clerk of A; accountant of B); the twelve
    open periods of 2026 of both."""
    return build_world()
