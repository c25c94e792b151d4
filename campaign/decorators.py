from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from campaign.roles import Role, scope_for


def role_required(*roles: Role):
    """Signed-in users whose role is not listed get 403."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if scope_for(request.user).role not in roles:
                raise PermissionDenied("Your role does not allow this.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def team_required(view):
    """Signed-in users with any campaign role; others get 403."""
    return role_required(*Role)(view)
