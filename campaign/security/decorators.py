"""Per-view relaxations of the site-wide security headers. Each is deliberate and named."""

from __future__ import annotations

from functools import wraps

# An email's HTML, shown inside our own page: no scripts, no plugins, nothing fetched
# from elsewhere, inline styles allowed (emails are styled inline), framed only by us,
# and sandboxed so it runs in an opaque origin even if something slipped through.
SANDBOXED_FRAME_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
)


def sandboxed_frame(view):
    """The view's response may be framed by our own pages, under its own sandbox policy.

    Used for the drive preview's and the outbox's HTML part: the only pages that are
    meant to appear inside an iframe."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        # The CSP middleware leaves a policy the view has set alone.
        response["Content-Security-Policy"] = SANDBOXED_FRAME_POLICY
        response["X-Frame-Options"] = "SAMEORIGIN"
        return response

    return wrapped


def cache_allowed(view):
    """Let browsers and proxies cache this view's responses (NoStoreMiddleware skips it).

    Only for responses with no personal data at all."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.turnout_cache_allowed = True
        return response

    return wrapped
