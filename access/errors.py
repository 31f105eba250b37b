"""Errors the services raise.

`ControlError` is an operating error: bad input or a refused control, shown to the user with
a stable code, the field it concerns and a message in the user's language (the API answers
422). `InvariantViolation` is a programmer error: a state that cannot happen if the code is
right; it is never caught to continue.
"""

from django.utils.functional import Promise


class ControlError(Exception):
    def __init__(self, code: str, message: str | Promise, *, field: str | None = None, **params):
        self.code = code
        self.message = message
        self.field = field
        self.params = params
        super().__init__(f"{code}: {message}")

    def as_dict(self) -> dict:
        data = {"code": self.code, "message": str(self.message)}
        if self.field:
            data["field"] = self.field
        if self.params:
            data["params"] = {k: str(v) for k, v in self.params.items()}
        return data


class ControlErrors(ControlError):
    """Several refusals found in one pass (a form or an import): all are reported at once."""

    def __init__(self, errors: list[ControlError]):
        self.errors = errors
        first = errors[0]
        super().__init__(first.code, first.message, field=first.field)

    def as_dict(self) -> dict:
        return {"code": "invalid", "errors": [e.as_dict() for e in self.errors]}


class PermissionRefused(ControlError):
    pass


class InvariantViolation(Exception):
    pass
