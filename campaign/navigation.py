"""The main navigation, per role.

Each entry names the URL of its page in the app and, while that page is not built
yet, the admin page that does the job today; the first name that exists is used, so
a new app page takes over its entry as soon as its URL is added. Entries that still
lead to the admin say so on screen ("in admin").
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse

from campaign.roles import Role


@dataclass(frozen=True)
class NavEntry:
    label: str
    url_names: tuple[str, ...]


DASHBOARD = NavEntry("Dashboard", ("home",))
SUPPORTERS = NavEntry("Supporters", ("contact-list",))
DRIVES = NavEntry("Drives", ("drive-list", "admin:mailings_mailing_changelist"))
CANVASS = NavEntry("Canvass", ("canvass-home",))
IMPORT = NavEntry("Import", ("import-list", "admin:contacts_contact_import"))
TEAM = NavEntry("Team", ("team", "admin:campaign_teammember_changelist"))
AUDIT = NavEntry("Audit", ("audit", "admin:campaign_auditevent_changelist"))
MY_SCHOOLS = NavEntry("My schools", ("my-schools", "canvass-home"))

NAVIGATION: dict[Role, tuple[NavEntry, ...]] = {
    Role.ORGANISER: (DASHBOARD, SUPPORTERS, DRIVES, CANVASS, IMPORT, TEAM, AUDIT),
    Role.VOLUNTEER: (DASHBOARD, DRIVES, SUPPORTERS),
    Role.LEAD: (DASHBOARD, MY_SCHOOLS, SUPPORTERS),
}


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    in_admin: bool
    current: bool


def _resolve(entry: NavEntry) -> tuple[str, bool] | None:
    for name in entry.url_names:
        try:
            return reverse(name), name.startswith("admin:")
        except NoReverseMatch:
            continue
    return None


def navigation_for(*, role: Role | None, path: str) -> list[NavLink]:
    """The links a role's navigation shows, the one for ``path`` marked current."""
    if role is None:
        return []
    links: list[NavLink] = []
    resolved = [(entry, _resolve(entry)) for entry in NAVIGATION[role]]
    urls = [found[0] for _, found in resolved if found]
    # The longest matching prefix is the current page ("/" matches only itself).
    best = max(
        (url for url in urls if path == url or (url != "/" and path.startswith(url))),
        key=len,
        default=None,
    )
    for entry, found in resolved:
        if found is None:
            continue
        url, in_admin = found
        links.append(NavLink(entry.label, url, in_admin, current=url == best))
    return links
