"""Turnout settings: every deploy-specific value comes from the environment.

See README.md ("Configuration") for the variables. Malformed values stop start-up
with ``ImproperlyConfigured`` instead of failing later.
"""

import os
from datetime import timedelta
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
# The public address of the site, used in links inside emails, PDFs and QR codes. By
# default the address `manage.py serve` / `make run PORT=...` serves on (PORT), so a
# link printed or mailed from this machine opens this machine's server.
PORT = env_int(ENV, "PORT", 8000, minimum=1)
SITE_URL = env_str(ENV, "SITE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")
# Days an invitation to join the team (a link to set a password) stays valid.
INVITATION_VALID_DAYS = env_int(ENV, "INVITATION_VALID_DAYS", 3, minimum=1)

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
    "campaign.security.apps.SignInLockoutsConfig",  # django-axes
    "csp",
    "django_otp",
    "campaign.security.apps.AuthenticatorAppsConfig",  # django_otp.plugins.otp_totp
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
    # Security (campaign/security/): second factor, session limits, audit actor, headers.
    "django_otp.middleware.OTPMiddleware",
    "campaign.security.middleware.AuditActorMiddleware",
    "campaign.security.middleware.SessionTimeoutMiddleware",
    "campaign.security.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "campaign.security.middleware.NoStoreMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # The branded 404 page even with DEBUG on: Django's debug 404 lists every URL.
    "campaign.errors.BrandedNotFoundMiddleware",
    # Last, as django-axes asks: turns a refused sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]
# The ESP tracking webhooks under /anymail/ run through a handler of their own with only
# these (campaign/wsgi.py, campaign/security/webhooks.py): a burst of webhooks arrives
# while a drive sends, and they use no session, user, CSRF token, message or second
# factor (basic auth, the ESP's signature, csrf-exempt). The same security headers,
# no-store and branded 404 as every other response.
WEBHOOK_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # CSPMiddleware's policy, built once (no nonces or per-view policies here).
    "campaign.security.middleware.FixedContentSecurityPolicyMiddleware",
    "campaign.security.middleware.NoStoreMiddleware",
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

# --- Security (campaign/security/; README "Security and privacy") ---------------------
# Sessions and cookies: membership data is special-category personal data.
SESSION_COOKIE_HTTPONLY = True
# Absolute session lifetime from sign-in, whatever the activity.
SESSION_COOKIE_AGE = env_int(ENV, "SESSION_COOKIE_AGE", 8 * 3600, minimum=300)
# Signed out after this long without a request.
SESSION_IDLE_SECONDS = env_int(ENV, "SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool(ENV, "SECURE_SSL_REDIRECT", False)
BEHIND_TLS_PROXY = env_bool(ENV, "BEHIND_TLS_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
# A year of HTTPS-only in production; 0 (off) in debug, where the site is plain HTTP.
SECURE_HSTS_SECONDS = env_int(
    ENV, "SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool(ENV, "SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading is hard to undo (browsers ship the list): on with SECURE_HSTS_PRELOAD=1.
# Turning it off explicitly (=0) is a decision, so `check --deploy` stops warning.
SECURE_HSTS_PRELOAD = env_bool(ENV, "SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = ["security.W021"] if ENV.get("SECURE_HSTS_PRELOAD") else []
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): nothing inline, nothing from elsewhere. The two
# views that show an email's HTML in a sandboxed frame set their own policy
# (campaign.security.decorators.sandboxed_frame).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
    },
}

# Sign-in: the signed-in user's password is checked by ModelBackend after django-axes
# (lockouts) and the demo-login guard have had their say.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "campaign.security.backends.DemoLoginGuard",
    "django.contrib.auth.backends.ModelBackend",
]
# Wrong passwords per username + client address before that pair is locked out.
AXES_FAILURE_LIMIT = env_int(ENV, "SIGNIN_FAILURE_LIMIT", 5, minimum=1)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Minutes a lockout lasts; 0 = until an organiser unlocks it (Admin -> Sign-in lockouts -> Access attempts).
SIGNIN_LOCKOUT_MINUTES = env_int(ENV, "SIGNIN_LOCKOUT_MINUTES", 30, minimum=0)
AXES_COOLOFF_TIME = timedelta(minutes=SIGNIN_LOCKOUT_MINUTES) if SIGNIN_LOCKOUT_MINUTES else None
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "campaign.security.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "campaign.security.clientip.client_ip"
AXES_ENABLE_ADMIN = False  # campaign/admin.py registers role-scoped lockout pages
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password"]
# Only failures are logged; a log of every sign-in would be one more store of who works here.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# Second factor (django-otp TOTP) for organisers, who see every supporter.
REQUIRE_2FA_FOR_ORGANISERS = env_bool(ENV, "REQUIRE_2FA_FOR_ORGANISERS", not DEBUG)
OTP_TOTP_ISSUER = env_str(ENV, "OTP_TOTP_ISSUER", "Turnout")
# --- end of security -----------------------------------------------------------------

# Task queue: Redis in production, a SQLite file next to the database otherwise.
REDIS_URL = env_redis_url(ENV, "REDIS_URL")
HUEY_NAME = env_str(ENV, "HUEY_NAME", "turnout")
if REDIS_URL:
    HUEY = {
        # Priorities (campaign/queue.py): a drive's batches give way to other tasks.
        "huey_class": "huey.PriorityRedisHuey",
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
# Seconds Anymail waits for the ESP's answer. A call that times out may still have been
# accepted, so its rows become "unknown" (see README "Email drives").
ESP_TIMEOUT_SECONDS = env_float(ENV, "ESP_TIMEOUT_SECONDS", 30.0, minimum=1.0)
ANYMAIL["REQUESTS_TIMEOUT"] = ESP_TIMEOUT_SECONDS
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
if MAILING_LEASE_SECONDS <= ESP_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        f"MAILING_LEASE_SECONDS ({MAILING_LEASE_SECONDS}) must be longer than "
        f"ESP_TIMEOUT_SECONDS ({ESP_TIMEOUT_SECONDS:g}): a row's lease must outlast its ESP call."
    )
# A sending drive with no progress for this long has its queued batches re-enqueued.
MAILING_STALL_SECONDS = env_int(ENV, "MAILING_STALL_SECONDS", 120, minimum=1)
# Transient ESP errors (429/5xx, refused connections): retries per row, backoff base.
MAILING_MAX_ATTEMPTS = env_int(ENV, "MAILING_MAX_ATTEMPTS", 8, minimum=1)
MAILING_RETRY_BASE_SECONDS = env_float(ENV, "MAILING_RETRY_BASE_SECONDS", 5.0, minimum=0.0)
# How long after a send the ESP's event log is trusted to be complete: reconciliation
# calls a row "proven not sent" only once its send is older than this (Mailgun advises
# polling its events no closer than half an hour to the present).
MAILING_RECONCILE_LAG_SECONDS = env_int(ENV, "MAILING_RECONCILE_LAG_SECONDS", 1800, minimum=0)
# How long an unsubscribe link in a sent email keeps working: until this many days
# after its campaign's ballot closes (two years), and never less than MAX_AGE_DAYS
# after it was sent. "I have voted" links stop when the ballot closes.
MAILING_UNSUBSCRIBE_DAYS_AFTER_CLOSE = env_int(
    ENV, "MAILING_UNSUBSCRIBE_DAYS_AFTER_CLOSE", 730, minimum=30
)
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
# Mailgun webhooks: a signature older (or newer) than this is refused, and each
# signature's token is accepted once (mailings/webhooks.py).
MAILGUN_WEBHOOK_MAX_AGE_SECONDS = env_int(ENV, "MAILGUN_WEBHOOK_MAX_AGE_SECONDS", 300, minimum=30)
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

# Retention: `manage.py retention --apply` erases supporters not active since a
# campaign whose ballot closed this many days ago (contacts/services/retention.py).
RETENTION_DAYS_AFTER_CLOSE = env_int(ENV, "RETENTION_DAYS_AFTER_CLOSE", 365, minimum=1)

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
# Spreadsheets (XLSX, ODS) are zip archives: these bound what one may expand to before
# it is read, so a small crafted file cannot exhaust memory (contacts/importing/guards.py).
IMPORT_MAX_UNCOMPRESSED_BYTES = env_int(
    ENV, "IMPORT_MAX_UNCOMPRESSED_BYTES", 1024 * 1024 * 1024, minimum=1024
)
IMPORT_MAX_COMPRESSION_RATIO = env_int(ENV, "IMPORT_MAX_COMPRESSION_RATIO", 150, minimum=2)
IMPORT_MAX_SHARED_STRINGS_BYTES = env_int(
    ENV, "IMPORT_MAX_SHARED_STRINGS_BYTES", 256 * 1024 * 1024, minimum=1024
)
IMPORT_MAX_COLUMNS = env_int(ENV, "IMPORT_MAX_COLUMNS", 256, minimum=2)
# Rows x columns a spreadsheet's used area may span (the reader holds that grid).
IMPORT_MAX_CELLS = env_int(ENV, "IMPORT_MAX_CELLS", 16_000_000, minimum=100)
# The longest single cell a CSV may hold; longer means a broken or hostile file.
IMPORT_MAX_CELL_CHARS = env_int(ENV, "IMPORT_MAX_CELL_CHARS", 65_536, minimum=256)
# Admin uploads bigger than this run on the task queue instead of in the request.
IMPORT_SYNC_MAX_BYTES = env_int(ENV, "IMPORT_SYNC_MAX_BYTES", 2 * 1024 * 1024, minimum=0)
IMPORT_UPLOAD_DIR = Path(env_str(ENV, "IMPORT_UPLOAD_DIR") or VAR_DIR / "imports")

# --- Canvass sheets and GOTV (campaign/canvass/) -----------------------------------
# Finished district packs (PDFs of personal data) live here, outside any served
# directory, and are deleted after CANVASS_PACK_RETENTION_HOURS.
CANVASS_DIR = Path(env_str(ENV, "CANVASS_DIR") or VAR_DIR / "canvass")
CANVASS_PACK_RETENTION_HOURS = env_int(ENV, "CANVASS_PACK_RETENTION_HOURS", 24, minimum=1)
# A building pack with no progress for this long lost its queue worker: it is failed
# and offers a retry.
CANVASS_PACK_STALE_MINUTES = env_int(ENV, "CANVASS_PACK_STALE_MINUTES", 10, minimum=1)
# Processes that lay out a district pack's schools side by side (1 = in-process).
CANVASS_PDF_WORKERS = env_int(ENV, "CANVASS_PDF_WORKERS", 2, minimum=1)
# Biggest sheet upload accepted for the paper round-trip.
CANVASS_UPLOAD_MAX_BYTES = env_int(ENV, "CANVASS_UPLOAD_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
# --- end of canvass sheets and GOTV -------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Query strings can carry personal data (a searched email address): no log line
    # keeps them (campaign/security/logfilters.py).
    "filters": {"no_query_strings": {"()": "campaign.security.logfilters.StripQueryStrings"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["no_query_strings"],
        },
        "server": {
            "class": "logging.StreamHandler",
            "formatter": "server",
            "filters": ["no_query_strings"],
        },
    },
    "root": {"handlers": ["console"], "level": env_str(ENV, "LOG_LEVEL", "INFO").upper()},
    "loggers": {
        # run_huey attaches its own handler to "huey"; propagating too would print twice.
        "huey": {"level": "INFO", "propagate": False},
        # runserver's access log.
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
    },
}
