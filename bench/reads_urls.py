"""The product's URLs plus the audience builder's live count, for bench/reads.py only
(the composer that will serve it in the app is still being built)."""

from django.http import JsonResponse
from django.urls import path

from campaign.decorators import team_required
from campaign.urls import urlpatterns as product_urlpatterns

# bench/reads.py flips this to answer from the code before the tally (the baseline).
OLD = False


@team_required
def audience_count(request):
    from bench import baseline_reads
    from mailings.selectors import AudienceFilters, audience_breakdown_for

    def ids(name: str) -> tuple[int, ...]:
        return tuple(int(v) for v in request.GET.getlist(name) if v.isdigit())

    filters = AudienceFilters(
        district_ids=ids("district"),
        school_ids=ids("school"),
        tag_ids=ids("tag"),
        roles=tuple(request.GET.getlist("role")),
        gotv_statuses=tuple(request.GET.getlist("gotv")),
    )
    breakdown = baseline_reads.audience_breakdown_for if OLD else audience_breakdown_for
    return JsonResponse(breakdown(user=request.user, filters=filters))


urlpatterns = [*product_urlpatterns, path("bench/audience-count/", audience_count)]
