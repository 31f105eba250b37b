"""ФЛК settings and journal: dated parameters, switches per institution, violations.

The catalogue itself (what a control checks) is code-reviewed JSON in rules/catalogue/;
what an institution may tune (thresholds, on/off) is data here, dated so that a past
posting is judged by the values in force on its date (R18).
"""

import pgtrigger
from django.conf import settings
from django.db import models

from access.models import Institution
from access.triggers import refuse_truncate

from .texts import T, localized


class RuleParameter(models.Model):
    """A value of a control's parameter (e.g. FLC-PAY-002 advance_share_pct = 50) from a date.

    Guarantees:
    - `institution` NULL is the deployment default; an institution's row takes precedence
    - the value in force on a day is the row covering it (valid_from ≤ day ≤ valid_to or
      open-ended) with the latest valid_from, the latest set winning a tie; without one, the
      catalogue's default (rules/parameters.py)
    - a reason is always given (CHECK); rows are added, not edited, by rules.services.set_parameter
    - field changes are recorded by django-auditlog
    """

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=T("мекеме", "учреждение", "institution"))
    rule_code = models.CharField(T("бақылау", "контроль", "control"), max_length=20)
    name = models.CharField(T("параметр", "параметр", "parameter"), max_length=63)
    value = models.DecimalField(T("мәні", "значение", "value"), max_digits=20, decimal_places=2)
    valid_from = models.DateField(T("қолданылу басы", "действует с", "valid from"))
    valid_to = models.DateField(T("қолданылу соңы", "действует по", "valid to"), null=True, blank=True)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=T("кім белгіледі", "кем установлено", "set by"))
    set_at = models.DateTimeField(T("қашан белгіленді", "когда установлено", "set at"))
    reason = models.TextField(T("себебі", "причина", "reason"))

    class Meta:
        verbose_name = T("бақылау параметрі", "параметр контроля", "control parameter")
        verbose_name_plural = T("бақылау параметрлері", "параметры контролей", "control parameters")
        ordering = ["rule_code", "name", "-valid_from", "-id"]
        indexes = [models.Index(fields=["institution", "rule_code", "name"], name="ruleparam_lookup")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(reason=""), name="ruleparam_reason_given"),
            models.CheckConstraint(condition=models.Q(valid_to__isnull=True)
                                   | models.Q(valid_to__gte=models.F("valid_from")),
                                   name="ruleparam_dates_ordered"),
        ]

    def __str__(self):
        return f"{self.rule_code}.{self.name} = {self.value} ({self.valid_from}…)"


class RuleSwitch(models.Model):
    """A control switched on or off for an institution (or, institution NULL, the deployment)
    from a date, with who and why.

    Guarantees:
    - the state on a day is the latest row with valid_from ≤ day (the institution's before the
      deployment's); without one, the catalogue's `enabled_by_default`
    - a reason is always given (CHECK); every switch is also written to the action journal
    """

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=T("мекеме", "учреждение", "institution"))
    rule_code = models.CharField(T("бақылау", "контроль", "control"), max_length=20)
    enabled = models.BooleanField(T("қосулы", "включён", "enabled"))
    valid_from = models.DateField(T("қолданылу басы", "действует с", "valid from"))
    reason = models.TextField(T("себебі", "причина", "reason"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=T("кім ауыстырды", "кем переключён", "switched by"))
    at = models.DateTimeField(T("қашан ауыстырылды", "когда переключён", "switched at"))

    class Meta:
        verbose_name = T("бақылауды қосу/өшіру", "включение контроля", "control switch")
        verbose_name_plural = T("бақылауларды қосу/өшіру", "включение контролей", "control switches")
        ordering = ["rule_code", "-valid_from", "-id"]
        indexes = [models.Index(fields=["institution", "rule_code"], name="ruleswitch_lookup")]
        constraints = [models.CheckConstraint(condition=~models.Q(reason=""), name="ruleswitch_reason_given")]

    def __str__(self):
        return f"{self.rule_code} {'on' if self.enabled else 'off'} from {self.valid_from}"


class ViolationOutcome(models.TextChoices):
    BLOCKED = "blocked", T("тыйым салынды", "запрещено", "blocked")
    WARNED = "warned", T("ескертілді", "предупреждено", "warned")


class Violation(models.Model):
    """A control that fired: who tried what, when, on which facts, and what they were told.

    Guarantees:
    - append-only: UPDATE, DELETE and TRUNCATE are refused by triggers
    - a blocked attempt's row is committed on a connection of its own before the refusal is
      raised, so it survives the caller's rollback (rules.services); a warning is written in
      the caller's transaction and stands or falls with the operation it accompanied
    - institution and user are kept as ids without foreign-key constraints: the autonomous
      insert must not wait on locks the refused transaction holds; the person's full name is
      copied, so the row reads the same after a rename
    """

    attempt = models.UUIDField(T("әрекет", "попытка", "attempt"), db_index=True,
                               help_text=T("Бір тексерудің нәтижелеріне ортақ.",
                                           "Общая для срабатываний одной проверки.",
                                           "The hits of one check share it."))
    rule_code = models.CharField(T("бақылау", "контроль", "control"), max_length=20)
    condition = models.CharField(T("шарт", "условие", "condition"), max_length=41, blank=True)
    severity = models.CharField(T("маңыздылығы", "важность", "severity"), max_length=5)
    outcome = models.CharField(T("нәтижесі", "результат", "outcome"), max_length=7,
                               choices=ViolationOutcome.choices)
    scope = models.CharField(T("операция түрі", "вид операции", "scope"), max_length=30)
    institution = models.ForeignKey(Institution, on_delete=models.DO_NOTHING, db_constraint=False,
                                    related_name="+", verbose_name=T("мекеме", "учреждение", "institution"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING, db_constraint=False,
                             null=True, blank=True, related_name="+",
                             verbose_name=T("пайдаланушы", "пользователь", "user"))
    user_full_name = models.CharField(T("аты-жөні", "ФИО", "full name"), max_length=460, blank=True)
    at = models.DateTimeField(T("уақыты", "время", "time"))
    on_date = models.DateField(T("операция күні", "дата операции", "operation date"))
    field = models.CharField(T("өріс", "поле", "field"), max_length=100, blank=True)
    fact = models.CharField(T("факт", "факт", "fact"), max_length=100, blank=True)
    facts = models.JSONField(T("фактілер", "факты", "facts"))
    parameters = models.JSONField(T("параметрлер", "параметры", "parameters"), default=dict)
    message = models.JSONField(T("хабар", "сообщение", "message"),
                               help_text=T("Хабар қазақ, орыс және ағылшын тілдерінде.",
                                           "Сообщение на казахском, русском и английском.",
                                           "The message in kk, ru and en."))

    class Meta:
        verbose_name = T("бақылаудың бұзылуы", "нарушение контроля", "control violation")
        verbose_name_plural = T("бақылаулардың бұзылуы", "нарушения контролей", "control violations")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["institution", "-at"], name="violation_inst_at"),
            models.Index(fields=["institution", "rule_code", "-at"], name="violation_inst_rule"),
        ]
        triggers = [
            pgtrigger.Protect(name="violation_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            refuse_truncate("violation_no_truncate"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.rule_code} {self.outcome} {self.user_full_name}"

    @property
    def text(self) -> str:
        return localized(self.message)
