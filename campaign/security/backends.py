"""Authentication backends that refuse sign-ins before any password is checked."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied

# The password ``seed_demo --users`` gives its accounts; it is printed in the README.
from contacts.demo.seeding import DEMO_PASSWORD


class DemoLoginGuard:
    """Refuse the published demo password whenever DEBUG is off.

    The demo accounts are created only in debug, but a database seeded in debug can be
    served later with ``DEBUG=0``; then anyone who read the README could sign in.
    Checking the password rather than the usernames also catches a real account that
    was given the demo password. Raising PermissionDenied stops every later backend
    and counts as a failed sign-in (django-axes sees it too).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.DEBUG and password == DEMO_PASSWORD:
            raise PermissionDenied("Demo logins work only on a demo (DEBUG) server.")
        return None
