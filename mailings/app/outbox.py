"""The embedded outbox in the app: every message as its recipient sees it.

Organisers see every message; anyone else on the team sees only the test sends to
their own address (a volunteer reads the test of their drive here)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render

from campaign import outbox
from campaign.decorators import team_required
from campaign.roles import Role, scope_for
from campaign.security.decorators import sandboxed_frame

PER_PAGE = 50


def _own_test(user):
    address = (user.email or "").lower()

    def keep(message: outbox.OutboxMessage) -> bool:
        return (
            bool(address) and message.metadata.get("test") == "1" and address in message.to.lower()
        )

    return keep


def _visible(user):
    """What ``user`` may read of the outbox, as a filter (None: everything)."""
    return None if scope_for(user).role == Role.ORGANISER else _own_test(user)


@team_required
def outbox_list(request):
    query = request.GET.get("q", "").strip().lower()
    visible = _visible(request.user)
    raw = request.GET.get("page", "1")
    number = max(1, int(raw)) if raw.isdigit() else 1
    if visible is None and not query:
        paginator = Paginator(range(outbox.outbox_count()), PER_PAGE)
        page = paginator.get_page(number)
        found = outbox.outbox_page(
            offset=page.start_index() - 1 if page.object_list else 0, limit=PER_PAGE
        )
        has_next, total = page.has_next(), paginator.count
        number = page.number
    else:

        def keep(message):
            if visible is not None and not visible(message):
                return False
            return not query or query in message.to.lower()

        found, has_next = outbox.outbox_find(keep, offset=(number - 1) * PER_PAGE, limit=PER_PAGE)
        total = None
    return render(
        request,
        "mailings/outbox_list.html",
        {
            # Not "messages": that name is Django's messages framework in base.html.
            "outbox_messages": found,
            "query": request.GET.get("q", "").strip(),
            "number": number,
            "has_next": has_next,
            "total": total,
            "own_only": visible is not None,
        },
    )


def _message(request, message_id: str):
    found = outbox.outbox_get(message_id)
    if found is None:
        raise Http404("No such message.")
    visible = _visible(request.user)
    if visible is not None and not visible(found[0]):
        raise Http404("No such message.")
    return found


@team_required
def outbox_detail(request, message_id: str):
    summary, parsed = _message(request, message_id)
    text = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    return render(
        request,
        "mailings/outbox_detail.html",
        {
            "message": summary,
            "headers": [
                (name, value) for name, value in parsed.items() if not name.startswith("X-Outbox-")
            ],
            "text": text.get_content() if text else "",
            "html": html.get_content() if html is not None else None,
        },
    )


@sandboxed_frame
@team_required
def outbox_html(request, message_id: str):
    _, parsed = _message(request, message_id)
    html = parsed.get_body(preferencelist=("html",))
    if html is None:
        raise Http404("No such message.")
    # Shown as a recipient would see it, inside the sandbox policy of @sandboxed_frame.
    return HttpResponse(html.get_content(), content_type="text/html; charset=utf-8")
