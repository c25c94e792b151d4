"""Branded error pages: 403, 404 and 500 never show a stack trace, a setting or the
URL list, whatever DEBUG says (a 500 with DEBUG on still shows Django's debug page,
which only developers see on their own machine).

Django uses ``handler403``/``handler404``/``handler500`` (campaign/urls.py) only when
DEBUG is off for 404s; with DEBUG on it renders its technical 404, which lists every
URL pattern. ``BrandedNotFoundMiddleware`` replaces that page in both of its cases: a
view that raised ``Http404`` (e.g. another district's school) and a URL that matched
nothing.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseServerError
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

logger = logging.getLogger(__name__)


def _render(request, template_name: str, status: int, context: dict | None = None):
    body = loader.render_to_string(template_name, context or {}, request=request)
    response = HttpResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


@requires_csrf_token
def page_not_found(request, exception=None, template_name: str = "404.html"):
    return _render(request, template_name, 404)


@requires_csrf_token
def permission_denied(request, exception=None, template_name: str = "403.html"):
    # The reason comes from our own code ("Your role does not allow this."), never
    # from user input; show it so people know whom to ask.
    reason = str(exception) if exception is not None and str(exception) else ""
    return _render(request, template_name, 403, {"reason": reason})


@requires_csrf_token
def server_error(request, template_name: str = "500.html"):
    # No request context: the failure may be the database, and context processors
    # (the user, their role) would query it again.
    try:
        body = loader.render_to_string(template_name, {})
    except Exception:  # the template itself failed: answer in plain words
        logger.exception("The 500 page could not be rendered")
        body = "<h1>Something went wrong</h1><p>Please try again in a minute.</p>"
    return HttpResponseServerError(body)


class BrandedNotFoundMiddleware:
    """With DEBUG on, answer 404s with the branded page instead of Django's debug page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and request.resolver_match is None
            and not getattr(response, "turnout_branded", False)
        ):
            # No URL matched: Django's debug response would list every pattern.
            return self._branded(request)
        return response

    def process_exception(self, request, exception):
        if settings.DEBUG and isinstance(exception, Http404):
            return self._branded(request)
        return None

    @staticmethod
    def _branded(request):
        response = page_not_found(request)
        response.turnout_branded = True
        return response
