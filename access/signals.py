"""Login, logout and failed login go to the action journal (R4)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .models import Action, Outcome
from .services import log_action


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs):
    log_action(actor=user, action=Action.LOGIN, request=request, institution=None)


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs):
    if user is not None:
        log_action(actor=user, action=Action.LOGOUT, request=request)


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    log_action(actor=None, action=Action.LOGIN_FAILED, outcome=Outcome.FAILED, request=request,
               username=str(credentials.get("username", ""))[:150])


@receiver(user_logged_in)
def ask_second_factor(sender, request, user, **kwargs):
    """A user with a confirmed TOTP device enters a code before any page (access/gate.py)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if request is not None and hasattr(request, "session") and \
            TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        from .gate import OTP_PENDING

        request.session[OTP_PENDING] = True
