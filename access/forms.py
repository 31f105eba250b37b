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


class AuditorGrantForm(forms.Form):
    """The columns of order No. 270's request form, and the jurisdiction."""

    full_name = forms.CharField(label=_("Full name"), max_length=300)
    iin = forms.CharField(label=_("IIN"), max_length=12, min_length=12,
                          widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 13}))
    position = forms.CharField(label=_("Position and unit"), max_length=300)
    eqyzmet_qr = forms.CharField(label=_("E-qyzmet QR reference"), max_length=500)
    phone = forms.CharField(label=_("Phone"), max_length=40)
    email = forms.EmailField(label=_("E-mail"))
    audit_body = forms.CharField(label=_("Audit body"), max_length=300)
    purpose = forms.CharField(label=_("Purpose"), widget=forms.Textarea(attrs={"rows": 3}))
    scope_kind = forms.ChoiceField(label=_("Scope"), choices=[])
    scope_institution = forms.ModelChoiceField(label=_("Administrator (top of the subtree)"), required=False,
                                               queryset=None)
    scope_region = forms.CharField(label=_("Region"), max_length=100, required=False)
    scope_administrator_code = forms.CharField(label=_("Administrator code (АБП)"), max_length=3, required=False)
    valid_from = forms.DateField(label=_("Valid from"), widget=DateInput())
    valid_until = forms.DateField(label=_("Valid until"), required=False, widget=DateInput(),
                                  help_text=_("Empty: one calendar year from the start."))

    def __init__(self, *args, **kwargs):
        from .models import Institution, ScopeKind

        super().__init__(*args, **kwargs)
        self.fields["scope_kind"].choices = ScopeKind.choices
        self.fields["scope_institution"].queryset = Institution.objects.order_by("name_ru")


class DecisionForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class AttestationForm(forms.Form):
    user = forms.ModelChoiceField(label=_("User"), queryset=None)
    date = forms.DateField(label=_("Date"), widget=DateInput())
    course = forms.CharField(label=_("Course"), max_length=300)

    def __init__(self, *args, **kwargs):
        from .models import User

        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(is_active=True).order_by("last_name", "username")


class OverrideForm(forms.Form):
    user = forms.ModelChoiceField(label=_("User"), queryset=None)
    until = forms.DateField(label=_("Until"), widget=DateInput())
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        from .models import User

        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(is_active=True).order_by("last_name", "username")


class OTPTokenForm(forms.Form):
    token = forms.CharField(label=_("Code"), max_length=8, min_length=6,
                            widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code",
                                                          "autofocus": True}))
