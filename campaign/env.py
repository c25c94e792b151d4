"""Typed readers for the environment variables that configure Turnout.

Each reader takes the environment mapping explicitly so it can be tested without
touching ``os.environ``; every malformed value raises ``ImproperlyConfigured``
naming the variable and what a good value looks like.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(environ: Mapping[str, str], name: str, default: str = "") -> str:
    return environ.get(name, default).strip()


def env_bool(environ: Mapping[str, str], name: str, default: bool = False) -> bool:
    if name not in environ:
        return default
    value = environ[name].strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {value!r}."
    )


def env_int(
    environ: Mapping[str, str], name: str, default: int, *, minimum: int | None = None
) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}.")
    return value


def env_float(
    environ: Mapping[str, str], name: str, default: float, *, minimum: float | None = None
) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number; got {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}.")
    return value


def env_list(environ: Mapping[str, str], name: str, default: list[str] | None = None) -> list[str]:
    raw = environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql", "pgsql")


def env_database(
    environ: Mapping[str, str], name: str, default_sqlite_path: Path
) -> dict[str, Any]:
    """Parse ``DATABASE_URL`` into a Django DATABASES entry.

    Only SQLite (the embedded default) and PostgreSQL (production) are supported:
    anything else is a configuration error rather than a surprise at first query.
    """
    raw = environ.get(name, "").strip()
    if not raw:
        return _sqlite(default_sqlite_path)
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else ""
    if scheme not in DATABASE_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} must look like postgres://user:password@host:5432/dbname or "
            f"sqlite:////absolute/path.sqlite3; got a value with scheme {scheme or 'none'!r}."
        )
    if scheme == "sqlite":
        path = raw.split("://", 1)[1]
        if not path.startswith("/") or len(path) < 2:
            raise ImproperlyConfigured(
                f"{name} for SQLite needs an absolute path: sqlite:////absolute/path.sqlite3."
            )
        return _sqlite(Path(path[1:]) if path.startswith("//") else Path(path))
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a valid URL: {exc}.") from None
    if not parts.hostname or not parts.path.strip("/"):
        raise ImproperlyConfigured(
            f"{name} must name a host and a database: postgres://user@host:{port or 5432}/dbname."
        )
    config = dj_database_url.parse(raw, conn_max_age=60, conn_health_checks=True)
    config.setdefault("OPTIONS", {})
    return config


def _sqlite(path: Path) -> dict[str, Any]:
    # WAL + IMMEDIATE transactions + a busy timeout let the web server and the
    # Huey consumer write to the same file without "database is locked" errors.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        },
    }


def env_redis_url(environ: Mapping[str, str], name: str) -> str | None:
    raw = environ.get(name, "").strip()
    if not raw:
        return None
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a valid URL: {exc}.") from None
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ImproperlyConfigured(
            f"{name} must look like redis://host:6379/0 (or rediss:// for TLS); "
            f"got scheme {parts.scheme or 'none'!r}."
        )
    if parts.scheme != "unix" and not parts.hostname:
        raise ImproperlyConfigured(f"{name} must name a host: redis://host:6379/0.")
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise ImproperlyConfigured(f"{name} database must be a number, as in redis://host:6379/0.")
    return raw


# Each supported ESP: the Anymail backend and the environment variables it needs,
# mapped to the ANYMAIL setting names Anymail reads.
ESP_BACKENDS: dict[str, tuple[str, dict[str, str], dict[str, str]]] = {
    # name: (backend path, required env -> ANYMAIL key, optional env -> ANYMAIL key)
    "mailgun": (
        "anymail.backends.mailgun.EmailBackend",
        # The signing key is required: without it Anymail checks webhook signatures
        # with the API key, refuses Mailgun's real events, and bounces never suppress.
        {
            "MAILGUN_API_KEY": "MAILGUN_API_KEY",
            "MAILGUN_WEBHOOK_SIGNING_KEY": "MAILGUN_WEBHOOK_SIGNING_KEY",
        },
        {
            "MAILGUN_SENDER_DOMAIN": "MAILGUN_SENDER_DOMAIN",
            "MAILGUN_API_URL": "MAILGUN_API_URL",
        },
    ),
    "postmark": (
        "anymail.backends.postmark.EmailBackend",
        {"POSTMARK_SERVER_TOKEN": "POSTMARK_SERVER_TOKEN"},
        {"POSTMARK_API_URL": "POSTMARK_API_URL"},
    ),
    "amazon_ses": (
        "anymail.backends.amazon_ses.EmailBackend",
        {},
        {"AMAZON_SES_CONFIGURATION_SET_NAME": "AMAZON_SES_CONFIGURATION_SET_NAME"},
    ),
    "brevo": (
        "anymail.backends.brevo.EmailBackend",
        {"BREVO_API_KEY": "BREVO_API_KEY"},
        {"BREVO_API_URL": "BREVO_API_URL"},
    ),
}


def env_email(environ: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """Return (EMAIL_BACKEND, ANYMAIL settings) for the configured ESP.

    With no ``ANYMAIL_ESP`` mail goes to the embedded outbox; otherwise the named
    Anymail backend is used and its keys must be present.
    """
    anymail: dict[str, Any] = {}
    secret = environ.get("ANYMAIL_WEBHOOK_SECRET", "").strip()
    if secret:
        if ":" not in secret:
            raise ImproperlyConfigured(
                "ANYMAIL_WEBHOOK_SECRET must be 'username:password' (HTTP basic auth for webhooks)."
            )
        anymail["WEBHOOK_SECRET"] = secret
    esp = environ.get("ANYMAIL_ESP", "").strip().lower()
    if not esp or esp == "outbox":
        return "campaign.email.outbox.OutboxBackend", anymail
    if esp not in ESP_BACKENDS:
        raise ImproperlyConfigured(
            f"ANYMAIL_ESP must be one of outbox, {', '.join(sorted(ESP_BACKENDS))}; got {esp!r}."
        )
    backend, required, optional = ESP_BACKENDS[esp]
    missing = [var for var in required if not environ.get(var, "").strip()]
    if missing:
        raise ImproperlyConfigured(
            f"ANYMAIL_ESP={esp} needs {', '.join(missing)} in the environment."
        )
    for var, key in {**required, **optional}.items():
        if environ.get(var, "").strip():
            anymail[key] = environ[var].strip()
    return backend, anymail
