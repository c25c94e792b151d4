"""Reads of supporter data, always through ``visible_to``.

Union-wide figures come from the maintained supporter tally (contacts/aggregates.py),
so they cost the same for an organiser of 450,000 supporters as for a lead of one
district; search and pages are served by indexes (contacts/search.py).
"""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property, partial

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.shortcuts import get_object_or_404
from django.utils import timezone

from campaign.roles import scope_for
from contacts.aggregates import NO_DISTRICT, current_consent, tag_tally_sum, tally_sum
from contacts.models import Contact, District, School, SupporterTally
from contacts.search import search_filter, search_order

# A search counts its matches only this far ("10,000+"); a page number past it is not
# offered. Browsing without a search counts exactly, from the tally.
SEARCH_COUNT_LIMIT = 10_000


def _tally_rows(
    *, user, district_id: int | None = None, tag_id: int | None = None
) -> QuerySet | None:
    """The tally rows of what ``user`` may see (of one district, of one tag's
    supporters, if given); None when the user may see nothing there."""
    scope = scope_for(user)
    if scope.sees_nothing:
        return None
    rows = tally_sum if tag_id is None else partial(tag_tally_sum, tag_id=tag_id)
    if district_id is not None:
        if scope.district_ids is not None and district_id not in scope.district_ids:
            return None
        return rows(district_ids=[district_id], include_no_district=False)
    if scope.sees_everything:
        return rows()
    return rows(district_ids=scope.district_ids, include_no_district=False)


def _by_state_and_gotv(rows: QuerySet | None) -> dict[tuple[str, str], int]:
    if rows is None:
        return {}
    totals = rows.values_list("state", "gotv_status").annotate(total=Sum("n"))
    return {(state, gotv): total for state, gotv, total in totals}


def supporter_figures(*, user, district_id: int | None = None) -> dict[str, int]:
    """The dashboard's headline figures over what ``user`` may see: supporters, with
    email consent (current consent, address not suppressed), and each GOTV status."""
    cells = _by_state_and_gotv(_tally_rows(user=user, district_id=district_id))
    figures = {
        "contacts": sum(cells.values()),
        "mailable": sum(n for (state, _), n in cells.items() if state == "mailable"),
    }
    for status in Contact.Gotv.values:
        figures[status] = sum(n for (_, gotv), n in cells.items() if gotv == status)
    return figures


def contact_counts(*, user) -> dict[str, int]:
    figures = supporter_figures(user=user)
    return {
        "contacts": figures["contacts"],
        "mailable": figures["mailable"],
        "voted": figures[Contact.Gotv.VOTED],
        "schools": School.objects.visible_to(user).count(),
        "districts": District.objects.visible_to(user).count(),
    }


def turnout_by_district(*, user) -> list[dict]:
    """Per district the user may see: supporters, with email consent, voted and the
    turnout among supporters (0–1), by district name. Supporters with no district are
    left out (organisers see them in the totals)."""
    rows = _tally_rows(user=user)
    if rows is None:
        return []
    totals: dict[int, dict[str, int]] = defaultdict(
        lambda: {"contacts": 0, "voted": 0, "mailable": 0}
    )
    for key, state, gotv, n in (
        rows.exclude(district_key=NO_DISTRICT)
        .values_list("district_key", "state", "gotv_status")
        .annotate(total=Sum("n"))
    ):
        cell = totals[key]
        cell["contacts"] += n
        if gotv == Contact.Gotv.VOTED:
            cell["voted"] += n
        if state == SupporterTally.State.MAILABLE:
            cell["mailable"] += n
    districts = District.objects.visible_to(user).filter(pk__in=list(totals)).order_by("name")
    return [
        {
            "district": district,
            **totals[district.pk],
            "turnout": totals[district.pk]["voted"] / totals[district.pk]["contacts"],
        }
        for district in districts
        if totals[district.pk]["contacts"]
    ]


def contact_list(*, user, query: str = "", district_id: int | None = None) -> QuerySet[Contact]:
    """Supporters ``user`` may see matching ``query`` (see contacts/search.py), in the
    list's order (last name, first name)."""
    contacts = Contact.objects.visible_to(user).select_related("school", "district")
    if district_id:
        contacts = contacts.filter(district_id=district_id)
    return search_filter(contacts, query)


class ContactPaginator(Paginator):
    """A paginator told its count, and for a search the ids of its matches, instead of
    counting the whole queryset."""

    def __init__(self, object_list, per_page, *, count: int, exact: bool, ids=None) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count
        self._ids = ids
        self.count_is_exact = exact

    @cached_property
    def count(self) -> int:
        return self._known_count

    def page(self, number) -> Page:
        """Find the page's ids first (an index-only walk however deep the page, or a
        slice of the search's matches), then load just those rows."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if self._ids is not None:
            ids = self._ids[bottom:top]
        else:
            ids = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = self.object_list.order_by().in_bulk(ids)
        return self._get_page([rows[pk] for pk in ids if pk in rows], number, self)


def contact_page(
    *, user, query: str = "", district_id: int | None = None, page=1, per_page: int = 50
) -> Page:
    """One page of ``contact_list``. Browsing counts from the tally (exact, instant)
    and walks the list-order index to the page; a search sorts its matches (up to
    ``SEARCH_COUNT_LIMIT``, in one query) and pages through them."""
    contacts = contact_list(user=user, query=query, district_id=district_id)
    if query.strip():
        matches = contacts.order_by(*search_order()).values_list("pk", flat=True)
        ids = list(matches[: SEARCH_COUNT_LIMIT + 1])
        exact = len(ids) <= SEARCH_COUNT_LIMIT
        ids = ids[:SEARCH_COUNT_LIMIT]
        paginator = ContactPaginator(contacts, per_page, count=len(ids), exact=exact, ids=ids)
    else:
        count = supporter_figures(user=user, district_id=district_id)["contacts"]
        paginator = ContactPaginator(contacts, per_page, count=count, exact=True)
    return paginator.get_page(page)


def contact_get(*, user, pk: int) -> Contact:
    return get_object_or_404(
        Contact.objects.visible_to(user).select_related("school", "district"), pk=pk
    )


def school_get(*, user, pk: int) -> School:
    return get_object_or_404(School.objects.visible_to(user).select_related("district"), pk=pk)


# --- subject access (organisers only; contacts/services/subject_access.py) -----------


def _when(value) -> str | None:
    return value.isoformat() if value is not None else None


def _contact_recipients(contact: Contact):
    from mailings.models import Recipient

    mine = Q(contact_id=contact.pk) | Q(email__iexact=contact.email)
    if contact.email_hash:
        mine |= Q(email_hash=contact.email_hash)
    return Recipient.objects.filter(mine).select_related("mailing").order_by("created_at", "pk")


def subject_access_data(*, contact: Contact) -> dict:
    """Everything Turnout holds on one supporter, in plain words and ISO times."""
    from campaign.models import AuditEvent
    from contacts.models import Suppression
    from contacts.services.audit import CONTACT_TARGET
    from contacts.suppression import address_hash
    from mailings.models import DeliveryEvent

    contact = Contact.objects.select_related("school", "district", "source_import").get(
        pk=contact.pk
    )
    details = {
        "id": contact.pk,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "mobile": contact.mobile,
        "school": contact.school.name if contact.school else None,
        "school_urn": contact.school.urn if contact.school else None,
        "district": contact.district.name if contact.district else None,
        "role": contact.get_role_display(),
        "tags": sorted(contact.tags.values_list("name", flat=True)),
        "notes": contact.notes,
        "gotv_status": contact.get_gotv_status_display(),
        "added": _when(contact.created_at),
        "last_changed": _when(contact.updated_at),
        "added_by_import": (
            {"file": contact.source_import.file_name, "at": _when(contact.source_import.created_at)}
            if contact.source_import
            else None
        ),
        "email_suppressed": Suppression.objects.filter(
            address_hash=address_hash(contact.email)
        ).exists(),
    }
    consent = [
        {
            "channel": record.get_channel_display(),
            "given_at": _when(record.given_at),
            "method": record.get_method_display(),
            "source": record.source,
            "wording": record.wording,
            "version": record.version,
            "withdrawn_at": _when(record.withdrawn_at),
            "withdrawn_how": record.get_withdrawn_how_display() if record.withdrawn_how else "",
        }
        for record in contact.consents.order_by("given_at", "pk")
    ]
    gotv = [
        {
            "at": _when(event.created_at),
            "from": event.get_previous_status_display(),
            "to": event.get_status_display(),
            "how": event.get_method_display(),
            "recorded_by": event.actor.get_username() if event.actor else None,
        }
        for event in contact.gotv_events.select_related("actor").order_by("created_at", "pk")
    ]
    recipients = list(_contact_recipients(contact))
    events_by_row: dict[int, list[dict]] = {}
    for event in DeliveryEvent.objects.filter(recipient__in=recipients).order_by(
        "occurred_at", "pk"
    ):
        events_by_row.setdefault(event.recipient_id, []).append(
            {
                "at": _when(event.occurred_at),
                "event": event.get_event_type_display(),
                "bounce": event.get_bounce_display() if event.bounce else "",
                "esp": event.esp,
                "description": event.description,
            }
        )
    drives = [
        {
            "drive": row.mailing.name,
            "subject": row.mailing.subject,
            "address": row.email,
            "status": row.get_status_display(),
            "sent_at": _when(row.sent_at),
            "error": row.error,
            "delivery_events": events_by_row.get(row.pk, []),
        }
        for row in recipients
    ]
    about = AuditEvent.objects.filter(target_type=CONTACT_TARGET, target_id=str(contact.pk))
    audit = [
        {
            "at": _when(entry.created_at),
            "action": entry.get_action_display(),
            "by": entry.actor_label or "system",
            "detail": entry.detail,
        }
        for entry in about.order_by("created_at", "pk")
    ]
    # Sheets are recorded per school or district pack: those printed while the
    # supporter was on Turnout at their (current) school or district may have listed them.
    place = Q(target_type="contacts.school", target_id=str(contact.school_id or ""))
    place |= Q(target_type="contacts.district", target_id=str(contact.district_id or ""))
    prints = AuditEvent.objects.filter(
        place,
        action__in=[AuditEvent.Action.CANVASS_PRINT, AuditEvent.Action.EXPORT],
        created_at__gte=contact.created_at,
    )
    canvass = [
        {
            "at": _when(entry.created_at),
            "what": entry.target_label,
            "printed_by": entry.actor_label or "system",
            "sheet_code": entry.detail.get("sheet_code", ""),
            "with_email": bool(entry.detail.get("with_email")),
            "format": entry.detail.get("format", ""),
        }
        for entry in prints.order_by("created_at", "pk")
        if entry.detail.get("what", "canvass sheet") == "canvass sheet"
        or entry.action == AuditEvent.Action.CANVASS_PRINT
    ]
    changes = [
        {
            "requested_at": _when(change.requested_at),
            "new_email": change.new_email,
            "status": change.get_status_display(),
        }
        for change in contact.email_changes.order_by("requested_at", "pk")
    ]
    return {
        "details": details,
        "consent_history": consent,
        "gotv_history": gotv,
        "drives_received": drives,
        "audit_entries": audit,
        "canvass_prints": canvass,
        "address_changes": changes,
    }


# --- The supporter pages (search with filters, one supporter's history) --------------

NOT_YET_VOTED = ("pledged", "ballot_received", "unknown")


def supporter_search(
    *,
    user,
    q: str = "",
    district=None,
    school: str = "",
    role: str = "",
    gotv: str = "",
    consent: str = "",
    tag=None,
) -> QuerySet[Contact]:
    """Supporters the user may see now matching the search and every filter given.

    ``q`` is searched as contacts/search.py describes (names, email, a mobile when it
    looks like one); ``school`` a school's name or URN; ``gotv`` a status or
    "not_voted"; ``consent`` "yes"/"no" for a current email consent."""
    contacts = contact_list(user=user, query=q.strip(), district_id=getattr(district, "pk", None))
    if school:
        school = school.strip()
        contacts = contacts.filter(Q(school__name__icontains=school) | Q(school__urn=school))
    if role:
        contacts = contacts.filter(role=role)
    if gotv == "not_voted":
        contacts = contacts.filter(gotv_status__in=NOT_YET_VOTED)
    elif gotv:
        contacts = contacts.filter(gotv_status=gotv)
    if consent:
        consented = current_consent(timezone.now())
        contacts = contacts.filter(consented) if consent == "yes" else contacts.exclude(consented)
    if tag is not None:
        contacts = contacts.filter(tags=tag)
    return contacts


def supporter_search_counts(*, contacts: QuerySet[Contact]) -> dict[str, int]:
    """How many matched, and how many of them cannot be emailed and why, in one query:
    ``no_consent`` (not emailed, not printed on canvass sheets) and ``suppressed``
    (consent on record, but unsubscribed, bounced or complained: not emailed)."""
    from contacts.models import Suppression

    consented = current_consent(timezone.now())
    suppressed = Exists(Suppression.objects.filter(address_hash=OuterRef("email_hash")))
    # Grouped by the two answers, so each is asked once per supporter (as aggregate
    # FILTERs, PostgreSQL would run the consent probe once per figure).
    groups = (
        contacts.order_by()
        .annotate(has_consent=consented, is_suppressed=suppressed)
        .values_list("has_consent", "is_suppressed")
        .annotate(n=Count("pk"))
    )
    total = consented_n = mailable = 0
    for has_consent, is_suppressed, n in groups:
        total += n
        if has_consent:
            consented_n += n
            if not is_suppressed:
                mailable += n
    return {
        "total": total,
        "no_consent": total - consented_n,
        "suppressed": consented_n - mailable,
        "mailable": mailable,
    }


def supporter_search_figures(
    *,
    user,
    q: str = "",
    district=None,
    school: str = "",
    role: str = "",
    gotv: str = "",
    consent: str = "",
    tag=None,
) -> dict[str, int]:
    """``supporter_search_counts`` of ``supporter_search(**same filters)``, from the
    supporter tally when the filters are its dimensions (district, role, GOTV status,
    consent, one tag): instant for the whole union. A search or a school filter counts
    its (few) matches directly."""
    if q.strip() or school:
        return supporter_search_counts(
            contacts=supporter_search(
                user=user,
                q=q,
                district=district,
                school=school,
                role=role,
                gotv=gotv,
                consent=consent,
                tag=tag,
            )
        )
    rows = _tally_rows(user=user, district_id=getattr(district, "pk", None), tag_id=tag and tag.pk)
    if rows is None:
        return {"total": 0, "no_consent": 0, "suppressed": 0, "mailable": 0}
    if role:
        rows = rows.filter(role=role)
    if gotv == "not_voted":
        rows = rows.filter(gotv_status__in=NOT_YET_VOTED)
    elif gotv:
        rows = rows.filter(gotv_status=gotv)
    if consent:
        rows = rows.filter(consented=consent == "yes")
    cells = rows.values_list("state", "consented").annotate(total=Sum("n"))
    total = consented = mailable = 0
    for state, has_consent, n in cells:
        total += n
        consented += n if has_consent else 0
        mailable += n if state == SupporterTally.State.MAILABLE else 0
    return {
        "total": total,
        "no_consent": total - consented,
        "suppressed": consented - mailable,
        "mailable": mailable,
    }


def supporter_page(
    *, contacts: QuerySet[Contact], count: int, searched: bool, page=1, per_page: int = 50
) -> Page:
    """A page of ``supporter_search`` results whose count is already known. A search
    sorts its matches off-index (see contacts/search.py ``search_order``) and pages
    through them; browsing walks the list-order index to the page."""
    if searched:
        matches = contacts.order_by(*search_order()).values_list("pk", flat=True)
        ids = list(matches[: SEARCH_COUNT_LIMIT + 1])
        exact = len(ids) <= SEARCH_COUNT_LIMIT
        ids = ids[:SEARCH_COUNT_LIMIT]
        paginator = ContactPaginator(contacts, per_page, count=len(ids), exact=exact, ids=ids)
    else:
        paginator = ContactPaginator(contacts, per_page, count=count, exact=True)
    return paginator.get_page(page)


def contact_gotv_history(*, contact: Contact):
    return contact.gotv_events.select_related("actor").order_by("-created_at", "-pk")


def contact_drives(*, contact: Contact) -> list:
    """The drives this supporter was in, newest first, each with its send status and the
    latest delivery event. The supporter is already in the viewer's scope; drive names
    and outcomes are campaign records, not other supporters' data."""
    from mailings.models import DeliveryEvent, Recipient

    latest = DeliveryEvent.objects.filter(recipient=OuterRef("pk")).order_by("-occurred_at", "-pk")
    return list(
        Recipient.objects.filter(contact=contact)
        .select_related("mailing")
        .annotate(
            last_event=Subquery(latest.values("event_type")[:1]),
            last_event_at=Subquery(latest.values("occurred_at")[:1]),
        )
        .order_by("-created_at", "-pk")
    )
