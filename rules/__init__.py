"""ФЛК (format-logical controls): the rules engine and its catalogue.

`rules.check(scope, facts) -> Verdict` is the pure entry point (rules/engine.py); services
call `rules.services.enforce`, which adds the institution's parameters and switches and
journals violations. The catalogue is rules/catalogue/*.json (docs/rules.md).
"""

from .engine import BLOCK, PASS, WARN, FactsError, RuleHit, Verdict, check, format_tenge, tiyn

__all__ = ["BLOCK", "PASS", "WARN", "FactsError", "RuleHit", "Verdict", "check", "format_tenge", "tiyn"]
