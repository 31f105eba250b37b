"""Forms of the reporting pages: parse and validate only; the rules live in services."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

MONTH_FORMATS = ["%Y-%m", "%Y-%m-%d", "%d.%m.%Y"]


class MonthInput(forms.DateInput):
    input_type = "month"

    def format_value(self, value):
        if isinstance(value, dt.date):
            return value.strftime("%Y-%m")
        return value


class StatementForm(forms.Form):
    period_start = forms.DateField(label=_("First month"), input_formats=MONTH_FORMATS, widget=MonthInput)
    period_end = forms.DateField(label=_("Last month"), input_formats=MONTH_FORMATS, widget=MonthInput)


class RangeForm(forms.Form):
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The end of the range comes before its start."))
        return data


class MonthForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
    month = forms.IntegerField(label=_("Month"), min_value=1, max_value=12)


class NotesForm(forms.Form):
    notes = forms.CharField(label=_("Explanatory notes"), required=False, max_length=20000,
                            widget=forms.Textarea(attrs={"rows": 6}))


class CardExportForm(RangeForm):
    account = forms.RegexField(label=_("Account"), regex=r"^[0-9]{4}$",
                               error_messages={"invalid": _("An account is four digits.")})


class YearForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), min_value=2000, max_value=2100)
