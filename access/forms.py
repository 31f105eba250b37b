"""Forms of the access pages: login and the action journal's filters."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .models import Action, Outcome


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class LoginForm(AuthenticationForm):
    """Django's login form with our wording (Django's Kazakh catalogue lacks these)."""

    error_messages = {
        "invalid_login": _("Wrong login or password. Both are case-sensitive."),
        "inactive": _("This account is disabled."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("User name")
        self.fields["password"].label = _("Password")
        self.fields["username"].widget.attrs.update({"autocomplete": "username", "autofocus": True})


class ActionJournalFilterForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To"), required=False, widget=DateInput())
    action = forms.ChoiceField(label=_("Action"), required=False, choices=[("", _("All")), *Action.choices])
    outcome = forms.ChoiceField(label=_("Outcome"), required=False, choices=[("", _("All")), *Outcome.choices])
    full_name = forms.CharField(label=_("User"), required=False, max_length=150)
    iin = forms.CharField(label=_("IIN"), required=False, max_length=12,
                          widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 13}))
