"""Trigger builders shared by the apps whose tables are append-only.

pgtrigger's Protect covers UPDATE and DELETE row by row; TRUNCATE fires no row trigger, so
each append-only table also gets a statement-level guard from `refuse_truncate`.
"""

import pgtrigger


def refuse_truncate(name: str) -> pgtrigger.Trigger:
    return pgtrigger.Trigger(
        name=name,
        level=pgtrigger.Statement,
        when=pgtrigger.Before,
        operation=pgtrigger.Truncate,
        func="""
            RAISE EXCEPTION USING ERRCODE = 'check_violation',
                MESSAGE = format('append_only: %s is append-only: TRUNCATE refused', TG_TABLE_NAME);
        """,
    )


def refuse_change(name: str, what: str, *, key: str = "id", deletes_only: bool = False) -> pgtrigger.Trigger:
    """Row-level refusal of UPDATE and DELETE (or DELETE only) with a message that starts
    with a stable code and names the row."""
    code = "undeletable" if deletes_only else "immutable"
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.Before,
        operation=pgtrigger.Delete if deletes_only else pgtrigger.Update | pgtrigger.Delete,
        func=f"""
            RAISE EXCEPTION USING ERRCODE = 'check_violation',
                MESSAGE = format('{code}: {what} %s: %s refused', OLD.{key}, TG_OP);
        """,
    )


ONLY_FROM_TRIGGER_SQL = """
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION USING ERRCODE = 'check_violation',
            MESSAGE = format('derived_state: %s is written only by its triggers', TG_TABLE_NAME);
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
"""


def only_from_trigger(prefix: str) -> list[pgtrigger.Trigger]:
    """Derived state (chain heads, turnovers) has one writer: the trigger that maintains it
    (depth 1) writing this table (depth 2). Direct writes and TRUNCATE are refused."""
    return [
        pgtrigger.Trigger(
            name=f"{prefix}_only_from_trigger", when=pgtrigger.Before,
            operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete, func=ONLY_FROM_TRIGGER_SQL,
        ),
        pgtrigger.Trigger(
            name=f"{prefix}_no_truncate", level=pgtrigger.Statement, when=pgtrigger.Before,
            operation=pgtrigger.Truncate, func=ONLY_FROM_TRIGGER_SQL,
        ),
    ]
