"""Forms of the financing pages: parsing only; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import PaymentKind

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class UploadForm(forms.Form):
    file = forms.FileField(label=_("File"))


class ContractForm(forms.Form):
    counterparty_bin = forms.CharField(label=_("Supplier BIN"), max_length=12)
    counterparty_name = forms.CharField(label=_("Supplier name"), max_length=300, required=False)
    number = forms.CharField(label=_("Number"), max_length=60)
    date = forms.DateField(label=_("Date"), widget=DATE)
    subject = forms.CharField(label=_("Subject"), max_length=300, required=False)
    programme = forms.CharField(label=_("Programme"), max_length=11,
                                widget=forms.TextInput(attrs={"placeholder": "261.003.015"}))
    specific = forms.CharField(label=_("Specific"), max_length=3)
    year1 = forms.DecimalField(label=_("Amount, 1st year"), max_digits=18, decimal_places=2)
    year2 = forms.DecimalField(label=_("Amount, 2nd year"), max_digits=18, decimal_places=2, required=False)
    year3 = forms.DecimalField(label=_("Amount, 3rd year"), max_digits=18, decimal_places=2, required=False)
    advance_percent = forms.DecimalField(label=_("Advance, %"), max_digits=5, decimal_places=2, initial=0)
    treasury_number = forms.CharField(label=_("Treasury registration number"), max_length=60, required=False)
    treasury_date = forms.DateField(label=_("Treasury registration date"), required=False, widget=DATE)

    def years(self) -> dict:
        d = self.cleaned_data
        return {d["date"].year + i: d[f"year{i + 1}"] for i in range(3) if d.get(f"year{i + 1}") is not None}


class RegisterForm(forms.Form):
    treasury_number = forms.CharField(label=_("Treasury registration number"), max_length=60)
    treasury_date = forms.DateField(label=_("Treasury registration date"), widget=DATE)


class ActForm(forms.Form):
    number = forms.CharField(label=_("Act number"), max_length=60)
    date = forms.DateField(label=_("Date"), widget=DATE)
    amount = forms.DecimalField(label=_("Amount"), max_digits=18, decimal_places=2)


class PaymentForm(forms.Form):
    number = forms.CharField(label=_("Payment order number"), max_length=60)
    date = forms.DateField(label=_("Date"), widget=DATE)
    amount = forms.DecimalField(label=_("Amount"), max_digits=18, decimal_places=2)
    kind = forms.ChoiceField(label=_("Kind"), choices=PaymentKind.choices)


class ObligationForm(forms.Form):
    date = forms.DateField(label=_("Date"), widget=DATE)
    amount = forms.DecimalField(label=_("Amount"), max_digits=18, decimal_places=2)
