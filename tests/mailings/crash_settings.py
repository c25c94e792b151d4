"""Settings for the queue consumers the crash test starts: the test settings, sending
through Anymail's real Mailgun backend to the fake ESP named in the environment."""

import os

from tests.settings import *  # noqa: F403

EMAIL_BACKEND = "anymail.backends.mailgun.EmailBackend"
ANYMAIL = {
    "MAILGUN_API_KEY": os.environ.get("FAKE_ESP_KEY", "fake-key"),
    "MAILGUN_API_URL": os.environ.get("FAKE_ESP_URL", "http://127.0.0.1:9/v3"),
    "MAILGUN_SENDER_DOMAIN": "mg.campaign.example.org",
    "REQUESTS_TIMEOUT": ESP_TIMEOUT_SECONDS,  # noqa: F405 - the typed ESP_TIMEOUT_SECONDS
}
