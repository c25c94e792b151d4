"""The security settings: their production defaults, debug defaults, and bad values."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINT = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({k: getattr(s, k) for k in ("
    "'REQUIRE_2FA_FOR_ORGANISERS', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', "
    "'SECURE_HSTS_PRELOAD', 'SESSION_IDLE_SECONDS', 'SESSION_COOKIE_AGE', "
    "'AXES_FAILURE_LIMIT', 'SIGNIN_LOCKOUT_MINUTES', 'SILENCED_SYSTEM_CHECKS')} | "
    "{'cooloff': s.AXES_COOLOFF_TIME and s.AXES_COOLOFF_TIME.total_seconds()}))"
)


def load(tmp_path, **overrides):
    environ = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DATABASE_URL"}}
    environ.update(
        DJANGO_SETTINGS_MODULE="campaign.settings",
        TURNOUT_VAR_DIR=str(tmp_path),
        SECRET_KEY="x" * 50,
    )
    environ.update(overrides)
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", PRINT], cwd=ROOT, env=environ, capture_output=True, text=True
    )


def test_production_defaults_are_strict(tmp_path):
    got = json.loads(load(tmp_path).stdout)

    assert got["REQUIRE_2FA_FOR_ORGANISERS"] is True
    assert got["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert got["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True and got["SECURE_HSTS_PRELOAD"] is False
    assert got["SESSION_IDLE_SECONDS"] == 1800 and got["SESSION_COOKIE_AGE"] == 8 * 3600
    assert got["AXES_FAILURE_LIMIT"] == 5 and got["cooloff"] == 30 * 60
    assert got["SILENCED_SYSTEM_CHECKS"] == []


def test_debug_turns_the_second_factor_and_hsts_off(tmp_path):
    got = json.loads(load(tmp_path, DEBUG="1").stdout)

    assert got["REQUIRE_2FA_FOR_ORGANISERS"] is False
    assert got["SECURE_HSTS_SECONDS"] == 0


def test_settings_follow_the_environment(tmp_path):
    got = json.loads(
        load(
            tmp_path,
            REQUIRE_2FA_FOR_ORGANISERS="0",
            SESSION_IDLE_SECONDS="900",
            SIGNIN_FAILURE_LIMIT="10",
            SIGNIN_LOCKOUT_MINUTES="0",
            SECURE_HSTS_PRELOAD="0",
        ).stdout
    )

    assert got["REQUIRE_2FA_FOR_ORGANISERS"] is False
    assert got["SESSION_IDLE_SECONDS"] == 900 and got["AXES_FAILURE_LIMIT"] == 10
    assert got["cooloff"] is None  # locked until an organiser lifts it
    assert got["SILENCED_SYSTEM_CHECKS"] == ["security.W021"]  # a decision, not an oversight


@pytest.mark.parametrize(
    "variable, value, expected",
    [
        ("SIGNIN_FAILURE_LIMIT", "0", "SIGNIN_FAILURE_LIMIT must be at least 1"),
        ("SESSION_IDLE_SECONDS", "soon", "SESSION_IDLE_SECONDS must be a whole number"),
        ("REQUIRE_2FA_FOR_ORGANISERS", "maybe", "REQUIRE_2FA_FOR_ORGANISERS must be one of"),
        ("SECURE_HSTS_PRELOAD", "sure", "SECURE_HSTS_PRELOAD must be one of"),
    ],
)
def test_bad_values_stop_start_up(tmp_path, variable, value, expected):
    result = load(tmp_path, **{variable: value})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and expected in result.stderr
