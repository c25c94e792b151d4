"""From database rows to the HTML documents that layout.py lays out.

Page structure comes from Django templates (autoescaped). Supporter rows, thousands
per pack, are built here with ``escape()`` on every value: the same escaping, without
the template engine's per-variable cost in the serial part of a pack.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from campaign.canvass import layout
from campaign.canvass.selectors import LeftOff, SchoolCount, SheetRow
from campaign.links import absolute_url
from campaign.models import Campaign
from contacts.models import Contact, District, School

ROLE_SHORT = {"member": "Member", "rep": "Rep", "activist": "Activist"}
STATUS_LABELS = dict(Contact.Gotv.choices)


def assets() -> layout.Assets:
    return layout.Assets(static_url=absolute_url(settings.STATIC_URL))


def new_sheet_code() -> str:
    """A short reference printed on every page and kept in the audit trail, so a sheet
    found later can be traced to who printed it and when."""
    return secrets.token_hex(3).upper()


def display_mobile(mobile: str) -> str:
    if mobile.startswith("+44") and len(mobile) == 13:
        national = "0" + mobile[3:]
        return f"{national[:5]} {national[5:]}"
    return mobile


def row_html(row: SheetRow, *, with_email: bool) -> str:
    laid = layout.row_layout(
        first_name=row.first_name,
        last_name=row.last_name,
        role=ROLE_SHORT.get(row.role, row.role),
        mobile=display_mobile(row.mobile) or "—",
        status=STATUS_LABELS.get(row.gotv_status, row.gotv_status),
        email=row.email if with_email else None,
    )
    name = escape("\n".join(laid.name.lines))
    if laid.name.css_class:
        name = f'<span class="{laid.name.css_class}">{name}</span>'
    email = "" if laid.email is None else "\n" + escape(laid.email)
    return f'<div class="r">{name}{escape(laid.rest)}{email}</div>'


@dataclass(frozen=True)
class NoSchool:
    """Stands in for a school on the sheet of a district's supporters with no school
    recorded, so they can still be chased."""

    district: District
    name: str = "No school recorded"
    urn: str = ""
    pk: None = None


@dataclass(frozen=True)
class PrintInfo:
    """Who printed, when, under which code: the same on every page of one print."""

    printed_by: str
    printed_at: datetime
    code: str
    with_email: bool
    campaign: Campaign | None


def print_info(*, user, with_email: bool, code: str | None = None) -> PrintInfo:
    from campaign.selectors import campaign_active

    full_name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    username = user.get_username()
    printed_by = f"{full_name} ({username})" if full_name else username
    return PrintInfo(
        printed_by=printed_by,
        printed_at=timezone.localtime(),
        code=code or new_sheet_code(),
        with_email=with_email,
        campaign=campaign_active(),
    )


def tick_off_url(school: School | NoSchool) -> str:
    if isinstance(school, NoSchool):
        # No tick-off page without a school: the district's chase list lists them.
        return absolute_url(f"{reverse('gotv-chase')}?district={school.district.pk}")
    return absolute_url(reverse("canvass-tick", args=[school.pk]))


def school_code(info: PrintInfo, school: School | NoSchool) -> str:
    if isinstance(school, NoSchool):
        return f"{info.code}-D{school.district.pk}-NS"
    return f"{info.code}-{school.urn or f'S{school.pk}'}"


def school_doc(
    *,
    school: School | NoSchool,
    rows: list[SheetRow],
    info: PrintInfo,
    left_off: int = 0,
    no_school: int = 0,
) -> layout.Doc:
    """One school's sheet. ``left_off``: its supporters not printed (no current email
    consent); ``no_school``: the district's supporters on the "No school recorded" sheet."""
    voted = sum(1 for row in rows if row.gotv_status == Contact.Gotv.VOTED)
    key = layout.qr_key(f"school-{school.pk}" if school.pk else f"no-school-{school.district.pk}")
    row_htmls = [row_html(row, with_email=info.with_email) for row in rows]
    pages = [
        mark_safe("".join(row_htmls[i] for i in page))  # noqa: S308 - escaped in row_html
        for page in layout.paginate(len(rows), with_email=info.with_email)
    ]
    html = render_to_string(
        "canvass/sheet.html",
        {
            "school": school,
            "district": school.district,
            "info": info,
            "sheet_code": school_code(info, school),
            "supporters": len(rows),
            "voted": voted,
            "left_off": left_off,
            "no_school": no_school,
            "is_no_school": isinstance(school, NoSchool),
            "qr_src": key,
            "tick_url": tick_off_url(school),
            "header_lines": layout.header_lines(),
            "pages": pages,
        },
    )
    return layout.Doc(html=html, pages=len(pages), qr_url=tick_off_url(school), qr_key=key)


def cover_doc(
    *,
    district: District,
    schools: list[School],
    counts: dict[int, SchoolCount],
    info: PrintInfo,
    left_off: LeftOff | None = None,
) -> layout.Doc:
    lines = [
        {
            "school": school,
            "supporters": counts[school.pk].supporters if school.pk in counts else 0,
            "voted": counts[school.pk].voted if school.pk in counts else 0,
        }
        for school in schools
    ]
    html = render_to_string(
        "canvass/cover.html",
        {
            "district": district,
            "info": info,
            "lines": lines,
            "total_supporters": sum(line["supporters"] for line in lines)
            + (left_off.no_school if left_off else 0),
            "total_voted": sum(line["voted"] for line in lines),
            "left_off": left_off,
            "sheet_code": f"{info.code}-D{district.pk}",
        },
    )
    return layout.Doc(html=html)
