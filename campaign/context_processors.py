from campaign.roles import scope_for


def team_role(request):
    scope = scope_for(getattr(request, "user", None))
    return {"team_role": scope.role}
