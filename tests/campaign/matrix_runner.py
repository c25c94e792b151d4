"""Runs one permission-matrix check: a request per role, each rolled back afterwards so
a state-changing POST by one role cannot change what the next one sees."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.test import Client

ROLES = ("anonymous", "organiser", "volunteer", "lead_a", "lead_b")
LOGIN_PAGES = ("/accounts/login/", "/admin/login/")


class _Rollback(Exception):
    pass


def outcome(response) -> str:
    """Return "L" for a redirect to a sign-in page, "302" for any other redirect, else the code."""
    if response.status_code in (301, 302, 303, 307, 308):
        location = response["Location"]
        return "L" if location.startswith(LOGIN_PAGES) else "302"
    return str(response.status_code)


class RoleClients:
    """One signed-in test client per role, whose session survives every request."""

    def __init__(self, users: dict):
        self.clients: dict[str, Client] = {"anonymous": Client(raise_request_exception=False)}
        self.cookies: dict[str, str] = {}
        for role in ROLES[1:]:
            client = Client(raise_request_exception=False)
            client.force_login(users[role])
            self.clients[role] = client
            self.cookies[role] = client.cookies[settings.SESSION_COOKIE_NAME].value

    def request(self, role: str, method: str, path: str, data=None):
        client = self.clients[role]
        if role in self.cookies:  # a sign-out in an earlier check cleared the cookie
            client.cookies[settings.SESSION_COOKIE_NAME] = self.cookies[role]
        else:
            client.cookies.pop(settings.SESSION_COOKIE_NAME, None)
        holder = {}
        try:
            with transaction.atomic():
                send = getattr(client, method.lower())
                holder["response"] = send(path, data or {})
                raise _Rollback
        except _Rollback:
            pass
        return holder["response"]
