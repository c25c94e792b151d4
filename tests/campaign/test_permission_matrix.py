"""The permission matrix: every URL in the URLconf (the admin and included apps too),
requested by each role, against one expected table.

A URL pattern missing from MATRIX fails the test: add a row for it. Each row maps
"METHOD object [body]" to the five outcomes, in ROLES order:

    anonymous  organiser  volunteer (District A)  lead_a (leads A)  lead_b (leads B)

Outcomes: a status code, "L" for a redirect to a sign-in page, "302" for any other
redirect. "object" names an entry of tests/campaign/permission_world.py whose id (or
values) fill the URL's parameters ("-" for none, "url:/path" for a literal path);
"body" names an entry of BODIES, the POST data. Every request is rolled back, so a
POST by one role never changes what the next one sees. Besides the status, no page a
role may read shows a supporter outside its districts.
"""

import pytest

from tests.campaign.matrix_admin_rows import ADMIN_ROWS
from tests.campaign.matrix_runner import ROLES, outcome
from tests.campaign.permission_world import (
    leaks_of,
    matrix_world,  # noqa: F401 - the fixture
    stored_rows,
    target_path,
    url_routes,
)

MATRIX = {
    # home
    "": {"GET -": "L 200 200 200 200"},
    # The organiser's dashboard approves a big drive; no other role may.
    "dashboard/drives/<int:pk>/approve/": {
        "GET drive_a_awaiting": "L 405 403 403 403",
        "POST drive_a_awaiting empty": "L 302 403 403 403",
        "POST drive_b_awaiting empty": "L 302 403 403 403",
        # Not awaiting approval: refused with a message.
        "POST drive_a empty": "L 302 403 403 403",
    },
    # accounts
    "accounts/2fa/setup/": {"GET -": "L 302 200 200 200"},
    "accounts/2fa/verify/": {"GET -": "L 200 302 302 302"},
    "accounts/login/": {"GET -": "200 200 200 200 200"},
    "accounts/logout/": {"GET -": "405 405 405 405 405", "POST - empty": "L L L L L"},
    "accounts/password_change/": {"GET -": "L 200 200 200 200"},
    "accounts/password_change/done/": {"GET -": "L 200 200 200 200"},
    "accounts/password_reset/": {"GET -": "200 200 200 200 200"},
    "accounts/password_reset/done/": {"GET -": "200 200 200 200 200"},
    "accounts/reset/<uidb64>/<token>/": {"GET reset_link": "200 200 200 200 200"},
    "accounts/reset/done/": {"GET -": "200 200 200 200 200"},
    # admin: tests/campaign/matrix_admin_rows.py
    **ADMIN_ROWS,
    # contacts
    "contacts/": {"GET -": "L 200 200 200 200"},
    "contacts/<int:pk>/": {
        "GET contact_a": "L 200 200 200 404",
        "GET contact_b": "L 200 404 404 200",
    },
    # A subject access copy: organisers only, whichever district.
    "contacts/<int:pk>/subject-access.<str:fmt>": {
        "GET access_a_json": "L 200 403 403 403",
        "GET access_a_pdf": "L 200 403 403 403",
        "GET access_b_json": "L 200 403 403 403",
        "GET access_a_exe": "L 404 403 403 403",
    },
    "contacts/schools/<int:pk>/": {
        "GET school_a": "L 200 200 200 404",
        "GET school_b": "L 200 404 404 200",
    },
    # organiser workspace
    # Imports in the app: organisers only (others 403). The steps after the upload
    # carry a signed token; without one the step is refused (403) for everyone.
    "contacts/import/": {
        "GET -": "L 200 403 403 403",
        "POST - no_file": "L 400 403 403 403",
    },
    "contacts/import/columns/": {"GET -": "L 403 403 403 403"},
    "contacts/import/preview/": {
        "GET -": "L 403 403 403 403",
        "POST - empty": "L 403 403 403 403",
    },
    "contacts/import/confirm/": {
        "GET -": "L 405 403 403 403",
        "POST - empty": "L 403 403 403 403",
    },
    # Only a previewed (queued) import is confirmed by POST; the world's is finished.
    "contacts/import/<int:pk>/": {
        "GET batch": "L 200 403 403 403",
        "POST batch empty": "L 404 403 403 403",
    },
    "contacts/import/<int:pk>/rejected.<str:file_format>": {
        "GET batch_csv": "L 200 403 403 403",
    },
    # The world's batch never finished, so undo refuses it with a message.
    "contacts/import/<int:pk>/undo/": {
        "GET batch": "L 200 403 403 403",
        "POST batch empty": "L 302 403 403 403",
    },
    # Team, invitations, campaign settings and the audit trail: organisers only.
    "team/": {"GET -": "L 200 403 403 403", "POST - empty": "L 400 403 403 403"},
    "team/<int:pk>/": {
        "GET user_lead_a": "L 200 403 403 403",
        "GET user_organiser": "L 200 403 403 403",
        "POST user_lead_a empty": "L 400 403 403 403",
    },
    "team/<int:pk>/active/": {
        "GET user_lead_a": "L 405 403 403 403",
        "POST user_lead_a empty": "L 302 403 403 403",
    },
    "settings/": {"GET -": "L 200 403 403 403", "POST - empty": "L 400 403 403 403"},
    "audit/": {"GET -": "L 200 403 403 403"},
    "audit/export.csv": {"GET -": "L 200 403 403 403"},
    # An invitation link is for whoever holds it; a bad one is gone (410) for all.
    "accounts/invitation/<str:token>/": {"GET bad_token": "410 410 410 410 410"},
    # end of organiser workspace
    # mailings
    "mailings/<int:pk>/preview/": {
        "GET drive_a": "L 200 200 404 404",
        "GET drive_b": "L 200 404 404 404",
    },
    "mailings/<int:pk>/preview/html/": {
        "GET drive_a": "L 200 200 404 404",
        "GET drive_b": "L 200 404 404 404",
    },
    # drives app: only organisers and volunteers write drives; a volunteer sees their
    # own drives (404 for anyone else's), leads none (403). Reports and the CSV list
    # only the supporters the viewer may see at that moment.
    "drives/": {"GET -": "L 200 200 403 403", "GET -?state=district_a": "L 200 200 403 403"},
    "drives/new/": {
        "GET -": "L 200 200 403 403",
        "POST - new_drive": "L 302 302 403 403",
        "POST - new_drive_b": "L 302 200 403 403",
    },
    "drives/compose/check/": {
        "GET -": "L 405 405 403 403",
        "POST - check_text": "L 200 200 403 403",
    },
    "drives/compose/audience/": {
        "GET -": "L 200 200 403 403",
        "GET -?districts=district_b": "L 200 200 403 403",
    },
    "drives/compose/excluded/": {
        "GET -": "L 200 200 403 403",
        "GET -?districts=district_b": "L 200 200 403 403",
    },
    # Searching a District B name: the volunteer finds nobody.
    "drives/compose/people/": {"GET url:/drives/compose/people/?q=Tomasz": "L 200 200 403 403"},
    # Previewing as District B's supporter: the volunteer gets no preview of them.
    "drives/compose/preview/": {
        "GET -": "L 405 405 403 403",
        "POST - preview_b": "L 200 200 403 403",
    },
    "drives/<int:pk>/": {
        "GET drive_a": "L 200 200 403 403",
        "GET drive_b": "L 200 404 403 403",
        "GET drive_a_awaiting": "L 200 200 403 403",
    },
    "drives/<int:pk>/edit/": {
        "GET drive_a": "L 200 200 403 403",
        "GET drive_b": "L 200 404 403 403",
        "POST drive_a edit_drive_app": "L 302 302 403 403",
        "POST drive_b edit_drive_app": "L 302 404 403 403",
    },
    "drives/<int:pk>/test/": {
        "GET drive_a": "L 405 405 403 403",
        "POST drive_a empty": "L 302 302 403 403",
        "POST drive_b empty": "L 302 404 403 403",
    },
    "drives/<int:pk>/send/": {
        "GET drive_a": "L 200 200 403 403",
        "GET drive_b": "L 200 404 403 403",
        "POST drive_a send_now": "L 302 302 403 403",
        "POST drive_b send_now": "L 302 404 403 403",
    },
    "drives/<int:pk>/approve/": {
        "GET drive_a_awaiting": "L 405 403 403 403",
        "POST drive_a_awaiting empty": "L 302 403 403 403",
        "POST drive_b_awaiting empty": "L 302 403 403 403",
    },
    "drives/<int:pk>/send-back/": {
        "GET drive_a_awaiting": "L 405 403 403 403",
        "POST drive_a_awaiting send_back": "L 302 403 403 403",
        "POST drive_b_awaiting send_back": "L 302 403 403 403",
    },
    "drives/<int:pk>/pause/": {
        "GET drive_a": "L 200 200 403 403",
        "GET drive_b": "L 200 404 403 403",
        "POST drive_a empty": "L 302 302 403 403",
    },
    "drives/<int:pk>/resume/": {
        "GET drive_a": "L 200 200 403 403",
        "GET drive_b": "L 200 404 403 403",
        "POST drive_a empty": "L 302 302 403 403",
    },
    "drives/<int:pk>/cancel/": {
        "GET drive_a": "L 200 200 403 403",
        "GET drive_b": "L 200 404 403 403",
        "POST drive_a empty": "L 302 302 403 403",
        "POST drive_b empty": "L 302 404 403 403",
    },
    # Sending unknown rows again: organisers only.
    "drives/<int:pk>/send-again/": {
        "GET drive_a": "L 405 403 403 403",
        "POST drive_a empty": "L 302 403 403 403",
        "POST drive_b empty": "L 302 403 403 403",
    },
    "drives/<int:pk>/report/": {
        "GET drive_a": "L 200 200 403 403",
        "GET drive_b": "L 200 404 403 403",
    },
    "drives/<int:pk>/report.csv": {
        "GET drive_a": "L 200 200 403 403",
        "GET drive_b": "L 200 404 403 403",
    },
    # u
    "u/<str:token>/": {
        "GET unsubscribe_a": "200 200 200 200 200",
        "GET bad_token": "404 404 404 404 404",
        "POST bad_token empty": "404 404 404 404 404",
    },
    # canvass
    "canvass/": {"GET -": "L 200 403 200 200"},
    "canvass/my-schools/": {
        "GET -": "L 200 403 200 200",
        "GET -?district=district_a": "L 200 403 200 404",
        "GET -?district=district_b": "L 200 403 404 200",
    },
    "canvass/chase/": {
        "GET -": "L 200 403 200 200",
        "GET -?district=district_a": "L 200 403 200 404",
        "GET -?district=district_b": "L 200 403 404 200",
        "GET -?school=school_a": "L 200 403 200 404",
        "GET -?school=school_b": "L 200 403 404 200",
    },
    # The chase list's taps and flags: only for a supporter in the lead's districts.
    "canvass/supporters/<int:pk>/tap/": {
        "GET contact_a": "L 405 403 405 405",
        "POST contact_a tap_pledged": "L 302 403 302 404",
        "POST contact_b tap_pledged": "L 302 403 404 302",
    },
    "canvass/supporters/<int:pk>/flag/": {
        "GET contact_a": "L 405 403 405 405",
        "POST contact_a flag_organiser": "L 302 403 302 404",
        "POST contact_b flag_organiser": "L 302 403 404 302",
    },
    "canvass/districts/<int:pk>/no-school.pdf": {
        "GET district_a": "L 200 403 200 404",
        "GET district_b": "L 200 403 404 200",
    },
    "canvass/districts/<int:pk>/": {
        "GET district_a": "L 200 403 200 404",
        "GET district_b": "L 200 403 404 200",
    },
    "canvass/districts/<int:pk>/pack/": {
        "GET district_a": "L 405 403 405 405",
        "GET district_b": "L 405 403 405 405",
        "POST district_a pack": "L 302 403 302 404",
        "POST district_b pack": "L 302 403 404 302",
    },
    "canvass/packs/<int:pk>/": {
        "GET pack_a": "L 200 403 200 404",
        "GET pack_b": "L 200 403 404 200",
    },
    "canvass/packs/<int:pk>/download/": {
        "GET pack_a": "L 404 403 404 404",
        "GET pack_b": "L 404 403 404 404",
    },
    "canvass/packs/<int:pk>/retry/": {
        "GET pack_a_failed": "L 405 403 405 405",
        "POST pack_a_failed empty": "L 302 403 302 404",
        "POST pack_b_failed empty": "L 302 403 404 302",
        # Not failed: refused with a message on the pack's page.
        "POST pack_a empty": "L 302 403 302 404",
    },
    "canvass/schools/<int:pk>/sheet.pdf": {
        "GET school_a": "L 200 403 200 404",
        "GET school_b": "L 200 403 404 200",
    },
    "canvass/schools/<int:pk>/sheet.xlsx": {
        "GET school_a": "L 200 403 200 404",
        "GET school_b": "L 200 403 404 200",
    },
    "canvass/schools/<int:pk>/tick/": {
        "GET school_a": "L 200 403 200 404",
        "GET school_b": "L 200 403 404 200",
        "POST school_a tick_contact_a": "L 302 403 302 404",
        # District A's supporter posted under District B's school: not on that sheet.
        "POST school_b tick_contact_a": "L 404 403 404 404",
    },
    "canvass/schools/<int:pk>/upload/": {
        "GET school_a": "L 200 403 200 404",
        "GET school_b": "L 200 403 404 200",
        "POST school_a no_file": "L 400 403 400 404",
    },
    # voted
    "voted/<str:token>/": {
        "GET voted_a": "200 200 200 200 200",
        "GET bad_token": "400 400 400 400 400",
        "POST bad_token empty": "400 400 400 400 400",
    },
    # outbox: organisers read every message; the rest of the team only the test sends
    # to their own address (a supporter's message is "not there" for them: 404).
    "outbox/": {"GET -": "L 200 200 200 200", "GET url:/outbox/?q=sian": "L 200 200 200 200"},
    "outbox/<str:message_id>/": {"GET message": "L 200 404 404 404"},
    "outbox/<str:message_id>/html/": {"GET message": "L 200 404 404 404"},
    # healthz
    "healthz": {"GET -": "200 200 200 200 200", "POST - empty": "405 405 405 405 405"},
    # Regular-expression patterns: checked at a literal path.
    "admin/^(?P<app_label>auth|campaign|contacts|axes|otp_totp|mailings)/$": {
        "GET url:/admin/contacts/": "L 200 200 200 200",
        "GET url:/admin/auth/": "L 200 404 404 404",
    },
    "admin/(?P<url>.*)$": {"GET url:/admin/no-such-page/": "L 404 404 404 404"},
    # ESP webhooks: Anymail checks the basic auth and the ESP's signature on POST.
    "anymail/mailgun/tracking/": {"GET -": "404 404 404 404 404"},
    "anymail/postmark/tracking/": {"GET -": "405 405 405 405 405"},
    "anymail/amazon_ses/tracking/": {"GET -": "405 405 405 405 405"},
    "anymail/brevo/tracking/": {"GET -": "405 405 405 405 405"},
}


# POST data, by the name a MATRIX check gives after its object.
BODIES = {
    "tick_contact_a": lambda w: {"contact": w["contact_a"].pk, "status": "pledged"},
    "no_file": lambda w: {},
    "pack": lambda w: {},
    "edit_contact_a": lambda w: {**w["forms"]["contact_a"], "first_name": "Edited"},
    "edit_contact_b": lambda w: {**w["forms"]["contact_b"], "first_name": "Edited"},
    "gotv_contact_a": lambda w: {**w["forms"]["contact_a"], "gotv_status": "pledged"},
    "edit_drive_a": lambda w: {**w["forms"]["drive_a"], "name": "Edited"},
    "confirm_delete": lambda w: {"post": "yes"},
    "tap_pledged": lambda w: {"result": "pledged", "key": "matrix-tap-1"},
    "flag_organiser": lambda w: {"needs_organiser": "1", "note": "Wants a call"},
    "apply_email_change": lambda w: {
        "action": "apply_changes",
        "_selected_action": [w["email_change"].pk],
    },
    "reject_email_change": lambda w: {
        "action": "reject_changes",
        "_selected_action": [w["email_change"].pk],
    },
    "new_password": lambda w: {
        "password1": "a brand new passphrase",
        "password2": "a brand new passphrase",
        "usable_password": "true",
    },
    "edit_member_lead_a": lambda w: {**w["forms"]["member_lead_a"], "role": "organiser"},
    "empty": lambda w: {},
    # drives app
    "new_drive": lambda w: {
        "name": "Matrix drive",
        "subject": "Hi {{ first_name }}",
        "body": "Vote",
        "districts": [w["district_a"].pk],
    },
    # A volunteer may not aim a drive at District B: the form says so (200).
    "new_drive_b": lambda w: {
        "name": "Matrix drive",
        "subject": "Hi",
        "body": "Vote",
        "districts": [w["district_b"].pk],
    },
    "edit_drive_app": lambda w: {"name": "Edited", "subject": "Hi", "body": "Vote"},
    "check_text": lambda w: {"subject": "Hi {{ frist_name }}", "body": "Vote"},
    "preview_b": lambda w: {
        "subject": "Hi {{ first_name }}",
        "body": "Vote",
        "preview_contact": w["contact_b"].pk,
    },
    "send_now": lambda w: {"when": "now"},
    "send_back": lambda w: {"comment": "Say who the candidate is."},
}

# Text that must never appear in a page for a role that may not see that supporter.
OUT_OF_SCOPE = {
    "volunteer": ["contact_b"],
    "lead_a": ["contact_b"],
    "lead_b": ["contact_a"],
}


def test_every_url_pattern_has_a_row():
    routes = {r.route for r in url_routes()}
    missing = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not missing, (
        "These URL patterns are not in the permission matrix: add a row for each to MATRIX "
        f"in tests/campaign/test_permission_matrix.py saying who gets what: {missing}"
    )
    assert not stale, f"These MATRIX rows match no URL pattern any more; remove them: {stale}"


def test_every_row_checks_every_role_once():
    for route, checks in MATRIX.items():
        assert checks, route
        for check, expected in checks.items():
            assert len(expected.split()) == len(ROLES), (route, check)
            method, *rest = check.split()
            assert method in ("GET", "POST"), (route, check)
            if method == "POST":
                assert len(rest) == 2 and rest[1] in BODIES, (route, check)


@pytest.mark.django_db
def test_each_role_gets_what_the_matrix_says(request):
    objects, clients = request.getfixturevalue("matrix_world")
    before = stored_rows(objects)
    wrong, leaks = [], []
    for route, checks in MATRIX.items():
        for check, expected in checks.items():
            method, target, *body = check.split()
            path = target_path(route, target, objects)
            data = BODIES[body[0]](objects) if body else None
            got = []
            for role in ROLES:
                response = clients.request(role, method, path, data)
                got.append(outcome(response))
                leaks += [
                    f"{role} {method} {path}: {leak}"
                    for leak in leaks_of(role, response, objects, OUT_OF_SCOPE)
                ]
            if got != expected.split():
                wrong.append(f"{route!r} {check!r}: expected {expected!r}, got {' '.join(got)!r}")
    assert not wrong, "\n".join(wrong)
    assert not leaks, "\n".join(leaks)
    # Every check was rolled back: the erasure, approvals and taps above left the
    # world's objects as they were for the checks after them.
    assert stored_rows(objects) == before
