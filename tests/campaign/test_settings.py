"""Configuration comes from the environment and malformed values stop start-up."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from campaign import env

ROOT = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'db': s.DATABASES['default'], 'huey': s.HUEY, "
    "'email': s.EMAIL_BACKEND, 'anymail': s.ANYMAIL, 'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS}))"
)


def load_settings(tmp_path, **overrides):
    """Import campaign.settings in a fresh interpreter with exactly these variables."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "ANYMAIL_ESP", "DEBUG", "SECRET_KEY"}
    }
    environ.update(
        DJANGO_SETTINGS_MODULE="campaign.settings",
        TURNOUT_VAR_DIR=str(tmp_path),
        SECRET_KEY="x" * 50,
    )
    environ.update(overrides)
    environ = {key: value for key, value in environ.items() if value is not None}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_of(tmp_path, **overrides) -> dict:
    result = load_settings(tmp_path, **overrides)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_default_is_sqlite_in_var_with_wal_immediate_transactions_and_busy_timeout(tmp_path):
    loaded = settings_of(tmp_path)
    db = loaded["db"]
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == str(tmp_path / "turnout.sqlite3")
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert db["OPTIONS"]["timeout"] >= 5
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    assert loaded["huey"]["huey_class"] == "huey.SqliteHuey"
    assert loaded["huey"]["filename"] == str(tmp_path / "huey.sqlite3")
    assert loaded["huey"]["immediate"] is False
    assert loaded["email"] == "campaign.email.outbox.OutboxBackend"


def test_postgres_database_url_and_redis_url_are_used(tmp_path):
    loaded = settings_of(
        tmp_path,
        DATABASE_URL="postgres://turnout:s3cret@db.internal:5433/turnout",
        REDIS_URL="redis://cache.internal:6379/2",
    )
    assert loaded["db"]["ENGINE"] == "django.db.backends.postgresql"
    assert (loaded["db"]["HOST"], loaded["db"]["PORT"], loaded["db"]["NAME"]) == (
        "db.internal",
        5433,
        "turnout",
    )
    assert loaded["huey"]["huey_class"] == "huey.PriorityRedisHuey"
    assert loaded["huey"]["url"] == "redis://cache.internal:6379/2"


@pytest.mark.parametrize(
    "variable, value, expected",
    [
        ("DATABASE_URL", "mysql://root@localhost/turnout", "DATABASE_URL must look like"),
        ("DATABASE_URL", "postgres//missing-colon", "DATABASE_URL must look like"),
        ("DATABASE_URL", "postgres://user@host:notaport/db", "DATABASE_URL is not a valid URL"),
        ("DATABASE_URL", "postgres://user@host:5432/", "must name a host and a database"),
        ("REDIS_URL", "http://localhost:6379/0", "REDIS_URL must look like redis://"),
        ("REDIS_URL", "redis://:6379/0", "REDIS_URL must name a host"),
        ("REDIS_URL", "redis://localhost:6379/zero", "database must be a number"),
        ("ANYMAIL_ESP", "sendmail-deluxe", "ANYMAIL_ESP must be one of"),
        ("ANYMAIL_ESP", "mailgun", "needs MAILGUN_API_KEY"),
        ("DEBUG", "maybe", "DEBUG must be one of"),
        ("SECRET_KEY", "", "SECRET_KEY must be set when DEBUG is off"),
    ],
)
def test_malformed_settings_stop_start_up_with_a_clear_message(tmp_path, variable, value, expected):
    result = load_settings(tmp_path, **{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert expected in result.stderr


def test_anymail_esp_selects_the_matching_anymail_backend_with_its_keys(tmp_path):
    loaded = settings_of(
        tmp_path,
        ANYMAIL_ESP="mailgun",
        MAILGUN_API_KEY="key-123",
        MAILGUN_SENDER_DOMAIN="mg.campaign.example.org",
        MAILGUN_WEBHOOK_SIGNING_KEY="signing-456",
        ANYMAIL_WEBHOOK_SECRET="hooks:long-random-secret",
    )
    assert loaded["email"] == "anymail.backends.mailgun.EmailBackend"
    assert loaded["anymail"] == {
        "MAILGUN_API_KEY": "key-123",
        "MAILGUN_SENDER_DOMAIN": "mg.campaign.example.org",
        "MAILGUN_WEBHOOK_SIGNING_KEY": "signing-456",
        "WEBHOOK_SECRET": "hooks:long-random-secret",
        "REQUESTS_TIMEOUT": 30.0,
    }


def test_debug_mode_runs_without_a_secret_key_and_allows_local_hosts(tmp_path):
    loaded = settings_of(tmp_path, DEBUG="1", SECRET_KEY=None)
    assert loaded["debug"] is True
    assert "127.0.0.1" in loaded["hosts"]


@pytest.mark.parametrize(
    "esp, variables, backend",
    [
        ("postmark", {"POSTMARK_SERVER_TOKEN": "t"}, "anymail.backends.postmark.EmailBackend"),
        ("brevo", {"BREVO_API_KEY": "k"}, "anymail.backends.brevo.EmailBackend"),
        ("amazon_ses", {}, "anymail.backends.amazon_ses.EmailBackend"),
        ("outbox", {}, "campaign.email.outbox.OutboxBackend"),
    ],
)
def test_each_supported_esp_maps_to_its_backend(esp, variables, backend):
    chosen, _ = env.env_email({"ANYMAIL_ESP": esp, **variables})
    assert chosen == backend


def test_webhook_secret_must_be_username_and_password():
    with pytest.raises(ImproperlyConfigured, match="username:password"):
        env.env_email({"ANYMAIL_WEBHOOK_SECRET": "no-colon"})


def test_numbers_and_lists_are_parsed_and_checked():
    assert env.env_int({"N": " 12 "}, "N", 3) == 12
    assert env.env_int({}, "N", 3) == 3
    with pytest.raises(ImproperlyConfigured, match="N must be a whole number"):
        env.env_int({"N": "twelve"}, "N", 3)
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env.env_int({"N": "0"}, "N", 3, minimum=1)
    assert env.env_float({"R": "2.5"}, "R", 1.0) == 2.5
    with pytest.raises(ImproperlyConfigured, match="R must be a number"):
        env.env_float({"R": "fast"}, "R", 1.0)
    assert env.env_list({"H": "a.example, b.example,,"}, "H") == ["a.example", "b.example"]


def test_sqlite_database_url_needs_an_absolute_path(tmp_path):
    config = env.env_database(
        {"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}, "DATABASE_URL", tmp_path
    )
    assert config["NAME"] == f"{tmp_path}/x.db"
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    with pytest.raises(ImproperlyConfigured, match="absolute path"):
        env.env_database({"DATABASE_URL": "sqlite://"}, "DATABASE_URL", tmp_path)


def test_an_esp_without_a_webhook_secret_stops_start_up_unless_debugging(tmp_path):
    esp = {"ANYMAIL_ESP": "postmark", "POSTMARK_SERVER_TOKEN": "token"}
    refused = load_settings(tmp_path, **esp)
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr
    assert "ANYMAIL_WEBHOOK_SECRET must be set" in refused.stderr
    assert settings_of(tmp_path, **esp, ANYMAIL_WEBHOOK_SECRET="hooks:secret")["anymail"] == {
        "POSTMARK_SERVER_TOKEN": "token",
        "WEBHOOK_SECRET": "hooks:secret",
        "REQUESTS_TIMEOUT": 30.0,
    }
    assert settings_of(tmp_path, **esp, DEBUG="1")["debug"] is True
    assert settings_of(tmp_path)["email"] == "campaign.email.outbox.OutboxBackend"
