from campaign.navigation import navigation_for
from campaign.roles import scope_for


def team_role(request):
    """The signed-in user's role and the navigation it gets, for every page."""
    scope = scope_for(getattr(request, "user", None))
    return {
        "team_role": scope.role,
        "navigation": navigation_for(role=scope.role, path=getattr(request, "path", "")),
    }
