# ruff: noqa: F811 - the tracking tests' fixtures are imported and used by name
"""The web tier's WSGI application (campaign/wsgi.py): the ESP webhooks under /anymail/
are served by a handler with the lean WEBHOOK_MIDDLEWARE, everything else by the full
stack, and the webhooks still answer, refuse and carry the site's security headers."""

import io
import json
import sys
from contextlib import contextmanager

from django.conf import settings
from django.core import signals
from django.db import close_old_connections
from django.urls import URLResolver, get_resolver

from campaign.security.webhooks import TRACKING_VIEWS, WEBHOOK_PATH_PREFIX
from mailings.models import DeliveryEvent, WebhookToken
from tests.mailings.test_tracking import (  # noqa: F401 - fixtures
    MAILGUN_URL,
    basic_auth,
    mailgun_event,
    webhooks,
)

SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "Cache-Control",
)


@contextmanager
def connections_kept():
    """As Django's test client does: the test's transaction outlives each request."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (signals.request_started, signals.request_finished):
            signal.connect(close_old_connections)


class Served:
    """One request through the real WSGI application, and which handler took it."""

    def __init__(self, method: str, path: str, body: bytes = b"", secure: bool = False, **extra):
        from campaign.wsgi import application

        self.handled_by: list[str] = []
        self.requests: list = []
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "443" if secure else "80",
            "HTTP_HOST": "testserver",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if secure else "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(body)),
            **extra,
        }
        spies = [(application.webhooks, "webhooks"), (application.site, "site")]
        originals = [(handler, handler.get_response) for handler, _ in spies]
        for handler, name in spies:
            handler.get_response = self._spy(handler.get_response, name)
        try:
            with connections_kept():
                response = application(environ, self._start_response)
                self.content = b"".join(response)
                response.close()
        finally:
            for handler, get_response in originals:
                handler.get_response = get_response
        self.headers = response

    def _spy(self, get_response, name):
        def spied(request):
            self.handled_by.append(name)
            self.requests.append(request)
            return get_response(request)

        return spied

    def _start_response(self, status, headers, exc_info=None):
        self.status_code = int(status.split()[0])


def webhook(payload: dict, auth: dict | None = None, **extra) -> Served:
    return Served(
        "POST",
        MAILGUN_URL,
        json.dumps(payload).encode(),
        CONTENT_TYPE="application/json",
        **(basic_auth() if auth is None else auth),
        **extra,
    )


def stranger_delivered() -> dict:
    return mailgun_event(None, "delivered", email="stranger@example.net")


def test_a_webhook_is_served_by_the_lean_handler_and_stored(db, webhooks):
    served = webhook(stranger_delivered())

    assert served.status_code == 200
    assert served.handled_by == ["webhooks"]
    assert DeliveryEvent.objects.count() == 1 and WebhookToken.objects.count() == 1
    # Nothing of the sign-in machinery ran on it.
    request = served.requests[0]
    assert not hasattr(request, "session") and not hasattr(request, "user")


def test_a_webhook_with_wrong_basic_auth_or_signature_is_still_refused(db, webhooks):
    assert webhook(stranger_delivered(), auth=basic_auth("hooks:guess")).status_code == 400
    assert webhook(stranger_delivered(), auth={}).status_code == 400
    forged = stranger_delivered()
    forged["signature"]["signature"] = "0" * 64
    served = webhook(forged)

    assert served.status_code == 400
    assert served.handled_by == ["webhooks"]
    assert not DeliveryEvent.objects.exists() and not WebhookToken.objects.exists()


def test_other_urls_still_get_the_full_stack(db):
    served = Served("GET", "/accounts/login/")

    assert served.status_code == 200
    assert served.handled_by == ["site"]
    assert hasattr(served.requests[0], "session") and hasattr(served.requests[0], "user")
    assert "csrftoken" in served.headers.cookies
    # A path that merely starts like the webhooks' is not theirs.
    assert Served("GET", "/anymail").handled_by == ["site"]


def test_a_webhook_carries_the_same_security_headers_as_any_page(db, webhooks):
    page = Served("GET", "/accounts/login/", secure=True)
    served = webhook(stranger_delivered(), secure=True)

    assert served.status_code == 200
    for header in SECURITY_HEADERS:
        assert served.headers[header] == page.headers[header], header
    assert "no-store" in served.headers["Cache-Control"]
    assert served.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_an_unknown_webhook_url_is_the_branded_404_even_when_debugging(db, settings):
    settings.DEBUG = True
    served = Served("POST", "/anymail/sendgrid/tracking/")

    assert served.status_code == 404
    assert served.handled_by == ["webhooks"]
    page = served.content.decode()
    assert "We can't find that page" in page and "URLconf" not in page


def test_only_the_tracking_webhooks_live_under_the_lean_handlers_path():
    """Django resolves the whole path, so the lean handler reaches only what the URLconf
    mounts under /anymail/."""
    probe = WEBHOOK_PATH_PREFIX.lstrip("/") + "any/path/"
    matching = [p for p in get_resolver().url_patterns if p.pattern.match(probe)]

    assert len(matching) == 1 and isinstance(matching[0], URLResolver)
    assert matching[0].namespace == "anymail"
    assert {p.name for p in matching[0].url_patterns} <= {
        f"{esp}_tracking_webhook" for esp in TRACKING_VIEWS
    }


def test_building_the_lean_handler_leaves_the_sites_middleware_alone():
    from campaign.security.webhooks import WebhookHandler

    before = list(settings.MIDDLEWARE)
    WebhookHandler()
    assert before == settings.MIDDLEWARE
    assert not {"SessionMiddleware", "AuthenticationMiddleware", "CsrfViewMiddleware"} & {
        path.rsplit(".", 1)[1] for path in settings.WEBHOOK_MIDDLEWARE
    }
