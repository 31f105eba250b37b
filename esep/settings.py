"""Esep settings: wiring only. Every value comes from the environment, with local defaults
that match the private servers `make run` and `make test` start under var/."""

import importlib
import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("ESEP_DEBUG", True)
# The development key is only for the loopback servers; production refuses to start without one.
SECRET_KEY = os.environ.get("ESEP_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("ESEP_SECRET_KEY must be set when ESEP_DEBUG is off")
    SECRET_KEY = "dev-only-not-secret-" + "x" * 40
ALLOWED_HOSTS = os.environ.get("ESEP_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "pgtrigger",
    "auditlog",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "access",
    "operations",
    "ledger",
    "rules",
    "financing",
    "payroll",
    "inventory",
    "devices",
    "reporting",
    "dwh_export",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Session idle timeout, TOTP second step, training gate, auditors read-only and journaled.
    "access.gate.AccessGateMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    # Last: turns a locked-out login into the lockout page (django-axes).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "esep.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "access.context_processors.shell",
            ],
        },
    },
]
WSGI_APPLICATION = "esep.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgres://esep@127.0.0.1:54329/esep"),
        conn_max_age=int(os.environ.get("ESEP_DB_CONN_MAX_AGE", "60")),
    )
}
# pgtrigger's ignore check reads this setting inside an exception block; when the setting is
# absent every trigger call aborts a subtransaction, and each abort walks the queue of
# deferred events, which makes a transaction of N entries cost O(N²). Present and empty, it
# ignores nothing.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c pgtrigger.ignore={}"
# Each test run gets its own database, so runs started side by side (developers, CI, the
# benchmark) never drop each other's; ESEP_TEST_DB names it explicitly.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("ESEP_TEST_DB", f"test_esep_{os.getpid()}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "access.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "access.backends.ThrottlingBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed logins of one user name from one
# address, that pair is locked for AXES_COOLOFF_TIME hours. Attempts live in the database, so
# every web process sees them and a test's attempts vanish with its transaction.
AXES_FAILURE_LIMIT = int(os.environ.get("ESEP_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("ESEP_LOGIN_COOLOFF_HOURS", "0.5"))  # float ok: hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("ESEP_PROXY_COUNT", "0")) or None
AXES_VERBOSE = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # At least one letter and one digit: a length-only password is too easy to guess from a list.
    {"NAME": "access.passwords.CharacterClassValidator"},
]

LANGUAGE_CODE = os.environ.get("ESEP_LANGUAGE", "ru")
LANGUAGES = [("kk", _("Kazakh")), ("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Almaty"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("ESEP_STATIC_ROOT", BASE_DIR / "var" / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request when it is missing
MEDIA_ROOT = Path(os.environ.get("ESEP_MEDIA_ROOT", BASE_DIR / "var" / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

SESSION_COOKIE_AGE = int(os.environ.get("ESEP_SESSION_SECONDS", str(8 * 3600)))
# A session unused this long ends (access/gate.py); the absolute limit is SESSION_COOKIE_AGE.
ESEP_SESSION_IDLE_SECONDS = int(os.environ.get("ESEP_SESSION_IDLE_SECONDS", str(30 * 60)))
# R16: refuse users whose last training attestation is older than the current quarter. Off by
# default for development and tests; production runs with ESEP_TRAINING_GATE=true (a deploy
# check, access.checks, warns when DEBUG is off and the gate is not on).
ESEP_TRAINING_GATE = env_bool("ESEP_TRAINING_GATE", False)
ESEP_TRAINING_CONTACT = os.environ.get("ESEP_TRAINING_CONTACT", "")
# Two-factor: a user with a confirmed TOTP device must enter a code after the password.
OTP_TOTP_ISSUER = "Esep"

# Backups (R14, operations/): where they go and how many are kept.
ESEP_BACKUP_DIR = Path(os.environ.get("ESEP_BACKUP_DIR", BASE_DIR / "var" / "backups"))
ESEP_BACKUP_KEEP = int(os.environ.get("ESEP_BACKUP_KEEP", "14"))
ESEP_PG_BINDIR = os.environ.get("ESEP_PG_BINDIR", "/usr/lib/postgresql/15/bin")
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("ESEP_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if env_bool("ESEP_BEHIND_TLS_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # Token users pass the same gates as session users (training, auditors read-only).
        "access.api_auth.GatedTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "access.pagination.BoundedLimitOffsetPagination",
    # A page is bounded so one request cannot pull a year of postings into memory.
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "esep.api.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Esep API",
    "DESCRIPTION": "Accounting and financial reporting of state institutions (БЕ АЖ).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its browser are for logged-in users and integrators with a token, like the API.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AccountKindEnum": "ledger.models.AccountKind",
        "EntryKindEnum": "ledger.models.EntryKind",
        "PeriodStatusEnum": "ledger.models.PeriodStatus",
        "ReferenceStatusEnum": "ledger.models.RefStatus",
    },
}

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:63799/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "verify-ledger-nightly": {
        "task": "ledger.tasks.verify_ledger_task",
        "schedule": 24 * 3600,
    },
}
# An app names its own periodic tasks in <app>/schedule.py (BEAT_SCHEDULE: plain dicts, no
# Django imports), so adding one does not mean editing the settings.
for _app in [a for a in INSTALLED_APPS if "." not in a]:
    try:
        CELERY_BEAT_SCHEDULE.update(importlib.import_module(f"{_app}.schedule").BEAT_SCHEDULE)
    except ModuleNotFoundError as _exc:
        if _exc.name != f"{_app}.schedule":
            raise

AUDITLOG_INCLUDE_ALL_MODELS = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ESEP_LOG_LEVEL", "WARNING")},
}
