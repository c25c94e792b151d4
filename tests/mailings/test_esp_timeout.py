"""ESP_TIMEOUT_SECONDS is a typed setting and is Anymail's HTTP timeout."""

from tests.campaign.test_settings import load_settings, settings_of

MAILGUN = {
    "ANYMAIL_ESP": "mailgun",
    "MAILGUN_API_KEY": "key-x",
    "MAILGUN_WEBHOOK_SIGNING_KEY": "signing-x",
    "DEBUG": "1",
}


def test_esp_timeout_seconds_is_anymails_requests_timeout(tmp_path):
    assert settings_of(tmp_path, **MAILGUN)["anymail"]["REQUESTS_TIMEOUT"] == 30.0
    loaded = settings_of(tmp_path, **MAILGUN, ESP_TIMEOUT_SECONDS="12.5")
    assert loaded["anymail"]["REQUESTS_TIMEOUT"] == 12.5


def test_a_malformed_esp_timeout_stops_start_up_naming_it(tmp_path):
    result = load_settings(tmp_path, ESP_TIMEOUT_SECONDS="soon")
    assert result.returncode != 0
    assert "ESP_TIMEOUT_SECONDS must be a number; got 'soon'" in result.stderr


def test_a_lease_shorter_than_the_esp_timeout_stops_start_up(tmp_path):
    result = load_settings(tmp_path, ESP_TIMEOUT_SECONDS="60", MAILING_LEASE_SECONDS="45")
    assert result.returncode != 0
    assert (
        "MAILING_LEASE_SECONDS (45) must be longer than ESP_TIMEOUT_SECONDS (60)" in result.stderr
    )
