"""Password policy beyond Django's validators (length, common, numeric, similarity)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class CharacterClassValidator:
    """A password has at least one letter and at least one digit."""

    def validate(self, password, user=None):
        if not any(c.isalpha() for c in password) or not any(c.isdigit() for c in password):
            raise ValidationError(_("The password must contain both letters and digits."),
                                  code="password_character_classes")

    def get_help_text(self):
        return _("Your password must contain both letters and digits.")
