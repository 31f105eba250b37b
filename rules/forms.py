"""Forms of the ФЛК pages: the catalogue's date, a switch, a parameter value, the violation
journal's filters. Nothing here writes: the views pass what was typed to rules.services,
which refuses a missing reason or a value out of range in the user's language."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ledger.forms import DateInput, Form

from .models import ViolationOutcome

# Labels of the catalogue's scopes (rules.catalogue.SCOPES) and severities.
SCOPE_LABELS = {
    "posting": _("Journal entry"),
    "payroll_accrual": _("Payroll accrual"),
    "advance": _("Advance"),
    "salary_payment": _("Salary payment"),
    "obligation": _("Obligation"),
    "payment": _("Payment"),
    "plan_certificate": _("Financing plan change"),
    "period": _("Period"),
    "inventory": _("Inventory"),
}
SEVERITY_LABELS = {"block": _("blocks"), "warn": _("warns")}
SOURCE_LABELS = {
    "default": _("catalogue default"),
    "deployment": _("all institutions"),
    "institution": _("this institution"),
}
REASON_MAX = 2000


class DateForm(Form):
    date = forms.DateField(label=_("On date"), required=False, widget=DateInput())


class SwitchForm(Form):
    """On or off from a date. The reason is not required here: the service refuses an empty
    one with the same words as the API."""

    enabled = forms.TypedChoiceField(label=_("State"), coerce=lambda v: v == "1",
                                     choices=[("1", _("on")), ("0", _("off"))])
    valid_from = forms.DateField(label=_("From"), widget=DateInput())
    reason = forms.CharField(label=_("Reason"), required=False, max_length=REASON_MAX,
                             widget=forms.TextInput(attrs={"size": 40}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"valid_from": timezone.localdate()})
        kwargs.setdefault("prefix", "switch")
        super().__init__(*args, **kwargs)


class ParameterForm(Form):
    """A parameter's value from a date (and optionally to a date). The range and the reason
    are the service's to check."""

    name = forms.ChoiceField(label=_("Parameter"))
    value = forms.CharField(label=_("Value"), max_length=30,
                            widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 12}))
    valid_from = forms.DateField(label=_("From"), widget=DateInput())
    valid_to = forms.DateField(label=_("To"), required=False, widget=DateInput())
    reason = forms.CharField(label=_("Reason"), required=False, max_length=REASON_MAX,
                             widget=forms.TextInput(attrs={"size": 40}))

    def __init__(self, *args, rule, **kwargs):
        kwargs.setdefault("initial", {"valid_from": timezone.localdate()})
        kwargs.setdefault("prefix", "parameter")
        super().__init__(*args, **kwargs)
        self.fields["name"].choices = [(p.name, p.name) for p in rule.parameters]


class ViolationFilterForm(Form):
    rule = forms.ChoiceField(label=_("Control"), required=False)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False,
                                choices=[("", _("All")), *ViolationOutcome.choices])
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())
    full_name = forms.CharField(label=_("User"), required=False, max_length=150)

    def __init__(self, *args, codes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].choices = [("", _("All")), *[(c, c) for c in codes]]

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end of the range is before its start."))
        return data
