"""The web tier's WSGI application (gunicorn, ``manage.py serve``, runserver): Django's,
with the ESP tracking webhooks under /anymail/ on a lean middleware stack of their own
(campaign/security/webhooks.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
site = get_wsgi_application()

# Imported once Django is set up: the webhook views import models.
from campaign.security.webhooks import webhooks_apart  # noqa: E402

application = webhooks_apart(site)
