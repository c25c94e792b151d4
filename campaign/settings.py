"""Turnout settings: every deploy-specific value comes from the environment.

See README.md ("Configuration") for the variables. Malformed values stop start-up
with ``ImproperlyConfigured`` instead of failing later.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from campaign.env import (
    env_bool,
    env_database,
    env_email,
    env_float,
    env_int,
    env_list,
    env_redis_url,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
ENV = os.environ

VAR_DIR = Path(env_str(ENV, "TURNOUT_VAR_DIR") or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool(ENV, "DEBUG", False)

SECRET_KEY = env_str(ENV, "SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`)."
        )
    SECRET_KEY = "insecure-development-key-only-for-debug-mode"  # noqa: S105

ALLOWED_HOSTS = env_list(
    ENV, "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env_list(ENV, "CSRF_TRUSTED_ORIGINS", [])
# The public address of the site, used in links inside emails and PDFs.
SITE_URL = env_str(ENV, "SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "anymail",
    "django_htmx",
    "huey.contrib.djhuey",
    "import_export",
    "campaign",
    "contacts",
    "mailings",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # The branded 404 page even with DEBUG on: Django's debug 404 lists every URL.
    "campaign.errors.BrandedNotFoundMiddleware",
]

ROOT_URLCONF = "campaign.urls"
WSGI_APPLICATION = "campaign.wsgi.application"

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
                "campaign.context_processors.team_role",
            ],
        },
    },
]

DATABASES = {"default": env_database(ENV, "DATABASE_URL", VAR_DIR / "turnout.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str(ENV, "STATIC_ROOT") or VAR_DIR / "static")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# The embedded default serves static files straight from the apps, no collectstatic needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
STATICFILES_DIRS = [BASE_DIR / "campaign" / "static"]

# Sessions and cookies: membership data is special-category personal data.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int(ENV, "SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool(ENV, "SECURE_SSL_REDIRECT", False)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool(ENV, "BEHIND_TLS_PROXY", False) else None
)
SECURE_HSTS_SECONDS = env_int(ENV, "SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Task queue: Redis in production, a SQLite file next to the database otherwise.
REDIS_URL = env_redis_url(ENV, "REDIS_URL")
HUEY_NAME = env_str(ENV, "HUEY_NAME", "turnout")
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": HUEY_NAME,
        "url": REDIS_URL,
        "immediate": False,
        "utc": True,
        "consumer": {
            "workers": env_int(ENV, "HUEY_WORKERS", 4, minimum=1),
            "worker_type": "thread",
        },
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": HUEY_NAME,
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": False,
        "utc": True,
        "consumer": {
            "workers": env_int(ENV, "HUEY_WORKERS", 2, minimum=1),
            "worker_type": "thread",
        },
    }

# Email: the embedded outbox by default, a real ESP through Anymail when ANYMAIL_ESP is set.
EMAIL_BACKEND, ANYMAIL = env_email(ENV)
OUTBOX_DIR = Path(env_str(ENV, "OUTBOX_DIR") or VAR_DIR / "outbox")
DEFAULT_FROM_EMAIL = env_str(ENV, "DEFAULT_FROM_EMAIL", "Turnout <turnout@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Messages per second across every consumer, enforced by the drives engine.
EMAIL_SEND_RATE = env_float(ENV, "EMAIL_SEND_RATE", 10.0, minimum=0.1)

# --- Email drives (mailings/) -------------------------------------------------------
# Drives with more recipients than this wait for an organiser's approval.
MAILING_APPROVAL_THRESHOLD = env_int(ENV, "MAILING_APPROVAL_THRESHOLD", 500, minimum=0)
# Recipient rows per Huey batch task.
MAILING_BATCH_SIZE = env_int(ENV, "MAILING_BATCH_SIZE", 1000, minimum=1)
# Seconds of the global send rate one ESP call may use (pause/cancel act between calls).
MAILING_CHUNK_SECONDS = env_float(ENV, "MAILING_CHUNK_SECONDS", 2.0, minimum=0.01)
# A row left "sending" this long (a killed consumer) becomes "unknown", never re-sent.
MAILING_LEASE_SECONDS = env_int(ENV, "MAILING_LEASE_SECONDS", 300, minimum=1)
# A sending drive with no progress for this long has its queued batches re-enqueued.
MAILING_STALL_SECONDS = env_int(ENV, "MAILING_STALL_SECONDS", 120, minimum=1)
# Transient ESP errors (429/5xx, refused connections): retries per row, backoff base.
MAILING_MAX_ATTEMPTS = env_int(ENV, "MAILING_MAX_ATTEMPTS", 8, minimum=1)
MAILING_RETRY_BASE_SECONDS = env_float(ENV, "MAILING_RETRY_BASE_SECONDS", 5.0, minimum=0.0)
# How long an unsubscribe link in a sent email keeps working.
MAILING_UNSUBSCRIBE_MAX_AGE_DAYS = env_int(ENV, "MAILING_UNSUBSCRIBE_MAX_AGE_DAYS", 400, minimum=1)
# --- end of email drives ------------------------------------------------------------

# --- Delivery tracking (mailings/tracking.py) ---------------------------------------
# ESP webhooks at /anymail/ need HTTP basic auth in production: without it anyone
# could post fake bounces and suppress supporters.
if not DEBUG and EMAIL_BACKEND.startswith("anymail.") and "WEBHOOK_SECRET" not in ANYMAIL:
    raise ImproperlyConfigured(
        "ANYMAIL_WEBHOOK_SECRET must be set (as 'username:password') when DEBUG is off and "
        "an ESP is configured: it protects the tracking webhooks at /anymail/."
    )
# Soft bounces (distinct messages) to one address within the window that suppress it.
TRACKING_SOFT_BOUNCE_LIMIT = env_int(ENV, "TRACKING_SOFT_BOUNCE_LIMIT", 3, minimum=1)
TRACKING_SOFT_BOUNCE_DAYS = env_int(ENV, "TRACKING_SOFT_BOUNCE_DAYS", 30, minimum=1)
# A sending drive pauses itself when either rate passes its limit (percent), once at
# least MAILING_PAUSE_MIN_MESSAGES of its messages were delivered or bounced.
MAILING_PAUSE_COMPLAINT_RATE = env_float(ENV, "MAILING_PAUSE_COMPLAINT_RATE", 0.3, minimum=0.0)
MAILING_PAUSE_HARD_BOUNCE_RATE = env_float(ENV, "MAILING_PAUSE_HARD_BOUNCE_RATE", 5.0, minimum=0.0)
MAILING_PAUSE_MIN_MESSAGES = env_int(ENV, "MAILING_PAUSE_MIN_MESSAGES", 200, minimum=1)
# --- end of delivery tracking -------------------------------------------------------

# Key for the suppression list's address hashes. Set it on its own so SECRET_KEY can
# be rotated without forgetting who unsubscribed.
SUPPRESSION_HASH_KEY = (
    env_str(ENV, "SUPPRESSION_HASH_KEY") or f"suppression:{SECRET_KEY}"
).encode()

# Wording recorded with consent given through imports when the form gives none.
CONSENT_DEFAULT_WORDING = env_str(
    ENV,
    "CONSENT_DEFAULT_WORDING",
    "I agree to receive campaign emails about the General Secretary election.",
)
CONSENT_DEFAULT_VERSION = env_str(ENV, "CONSENT_DEFAULT_VERSION", "v1")

# Supporter imports (contacts/importing): upload limits, and where queued uploads wait.
IMPORT_MAX_BYTES = env_int(ENV, "IMPORT_MAX_BYTES", 200 * 1024 * 1024, minimum=1024)
IMPORT_MAX_ROWS = env_int(ENV, "IMPORT_MAX_ROWS", 1_000_000, minimum=1)
# Admin uploads bigger than this run on the task queue instead of in the request.
IMPORT_SYNC_MAX_BYTES = env_int(ENV, "IMPORT_SYNC_MAX_BYTES", 2 * 1024 * 1024, minimum=0)
IMPORT_UPLOAD_DIR = Path(env_str(ENV, "IMPORT_UPLOAD_DIR") or VAR_DIR / "imports")

# --- Canvass sheets and GOTV (campaign/canvass/) -----------------------------------
# Finished district packs (PDFs of personal data) live here, outside any served
# directory, and are deleted after CANVASS_PACK_RETENTION_HOURS.
CANVASS_DIR = Path(env_str(ENV, "CANVASS_DIR") or VAR_DIR / "canvass")
CANVASS_PACK_RETENTION_HOURS = env_int(ENV, "CANVASS_PACK_RETENTION_HOURS", 24, minimum=1)
# Processes that lay out a district pack's schools side by side (1 = in-process).
CANVASS_PDF_WORKERS = env_int(ENV, "CANVASS_PDF_WORKERS", 2, minimum=1)
# Biggest sheet upload accepted for the paper round-trip.
CANVASS_UPLOAD_MAX_BYTES = env_int(ENV, "CANVASS_UPLOAD_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
# --- end of canvass sheets and GOTV -------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str(ENV, "LOG_LEVEL", "INFO").upper()},
    # run_huey attaches its own handler to "huey"; propagating too would print twice.
    "loggers": {"huey": {"level": "INFO", "propagate": False}},
}
