"""Login throttling (django-axes) in front of Django's ModelBackend."""

from axes.backends import AxesStandaloneBackend


class ThrottlingBackend(AxesStandaloneBackend):
    """Refuses a locked-out login before any password is checked.

    Axes needs the request (the address is half of the lockout key). Authentication without a
    request happens only in code (management commands, tests' `Client.login`), never from the
    network, so it is passed on to ModelBackend unthrottled instead of raising."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
