"""The child side of ``bench/drives.py``: seeding a district, creating a drive and the
naive send-per-recipient loop, each run as ``python -m bench.drive_children
seed|create|naive …`` in a process of its own and printing its result as JSON."""

from __future__ import annotations

import json
import os
import sys
import time

from bench.drives import BODY, USERNAME


def _setup_django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
    django.setup()


def child_seed(district_name: str, count: int) -> dict:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from campaign.models import Campaign, TeamMember
    from campaign.roles import Role
    from contacts.models import ConsentRecord, Contact, District, School
    from contacts.suppression import address_hash

    now = timezone.now()
    if not Campaign.objects.filter(is_active=True).exists():
        Campaign.objects.create(
            name="Bench campaign",
            candidate="Alex Morgan",
            ballot_opens=now + timedelta(days=1),
            ballot_closes=now + timedelta(days=30),
            sender_name="Rank and File",
            sender_email="team@bench.example.org",
            reply_to="replies@bench.example.org",
        )
    user, created = get_user_model().objects.get_or_create(
        username=USERNAME, defaults={"email": "organiser@bench.example.org"}
    )
    if created:
        TeamMember.objects.create(user=user, role=Role.ORGANISER)
    district, _ = District.objects.get_or_create(name=district_name)
    if Contact.objects.filter(district=district).count() >= count:
        return {"seeded": 0}
    slug = district_name.lower().replace(" ", "-")
    schools = School.objects.bulk_create(
        School(name=f"{district_name} School {i}", name_key=f"{slug} school {i}", district=district)
        for i in range(max(1, count // 200))
    )
    step = 5000
    for start in range(0, count, step):
        contacts = Contact.objects.bulk_create(
            Contact(
                first_name=f"Sam{i}",
                last_name="Bench",
                email=f"{slug}-{i}@example.org",
                email_hash=address_hash(f"{slug}-{i}@example.org"),
                school=schools[i % len(schools)],
                district=district,
            )
            for i in range(start, min(count, start + step))
        )
        ConsentRecord.objects.bulk_create(
            ConsentRecord(
                contact=contact,
                given_at=now - timedelta(days=10),
                source="bench",
                wording="Yes please",
                method=ConsentRecord.Method.WEB_FORM,
            )
            for contact in contacts
        )
    return {"seeded": count}


def child_create(district_name: str) -> dict:
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from campaign.models import TeamMember
    from campaign.roles import Role
    from contacts.models import District
    from mailings.services import mailing_create

    user, created = get_user_model().objects.get_or_create(
        username=USERNAME, defaults={"email": "organiser@bench.example.org"}
    )
    if created:
        TeamMember.objects.create(user=user, role=Role.ORGANISER)
    if district_name == "*":
        districts, name = [], "Bench drive to everyone"
    elif district_name.startswith("first:"):
        # The union's districts in name order until they hold this many supporters:
        # a drive of a given size on the demo union, without seeding into it.
        wanted, districts, held = int(district_name.split(":", 1)[1]), [], 0
        for district in District.objects.annotate(n=Count("contacts")).order_by("name"):
            if held >= wanted:
                break
            districts.append(district)
            held += district.n
        name = f"Bench drive to {len(districts)} districts"
    else:
        districts = [District.objects.get(name=district_name)]
        name = f"Bench drive to {district_name}"
    mailing = mailing_create(
        actor=user,
        name=name,
        subject="{{ first_name }}, the ballot closes soon",
        body=BODY,
        districts=districts,
    )
    return {"mailing_id": mailing.pk}


def child_naive(district_name: str, count: int) -> dict:
    """The naive baseline: render a template and send_mail per recipient."""
    from django.core.mail import send_mail
    from django.template import engines
    from django.utils.html import strip_tags

    from campaign.links import absolute_url, signed_token, voted_url
    from campaign.selectors import campaign_active
    from contacts.models import Contact

    template = engines["django"].from_string(
        "<p>Dear {{ first_name }},</p><p>The ballot closes on <b>{{ ballot_closes }}</b>. "
        "Teachers at {{ school }} are counting on you.</p>"
        '<p><a href="{{ voted_url }}">Tell us you have voted</a></p>'
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
    )
    campaign = campaign_active()
    everyone = Contact.objects.all()
    chosen = everyone if district_name == "*" else everyone.filter(district__name=district_name)
    contacts = list(chosen.mailable().select_related("school").order_by("pk")[:count])
    started = time.perf_counter()
    for contact in contacts:
        html = template.render(
            {
                "first_name": contact.first_name,
                "ballot_closes": campaign.ballot_closes,
                "school": contact.school.name if contact.school else "",
                "voted_url": voted_url(recipient_id=contact.pk),  # same signing cost
                "unsubscribe_url": absolute_url(
                    f"u/{signed_token(purpose='unsubscribe', value=contact.pk)}/"
                ),
            }
        )
        send_mail(
            f"{contact.first_name}, the ballot closes soon",
            strip_tags(html),
            campaign.from_email,
            [contact.email],
            html_message=html,
        )
    return {"sent": len(contacts), "seconds": time.perf_counter() - started}


def main(argv: list[str]) -> None:
    _setup_django()
    command, *args = argv
    if command == "seed":
        result = child_seed(args[0], int(args[1]))
    elif command == "create":
        result = child_create(args[0])
    elif command == "naive":
        result = child_naive(args[0], int(args[1]))
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
