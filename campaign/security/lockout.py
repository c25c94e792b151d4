"""The page shown when django-axes refuses a sign-in."""

from __future__ import annotations

import math

from axes.helpers import get_client_username
from django.conf import settings
from django.shortcuts import render


def lockout_response(request, original_response=None, credentials=None):
    cooloff = settings.AXES_COOLOFF_TIME
    return render(
        request,
        "registration/lockout.html",
        {
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "username": get_client_username(request, credentials) or "",
            "minutes": math.ceil(cooloff.total_seconds() / 60) if cooloff else None,
        },
        status=429,
    )
