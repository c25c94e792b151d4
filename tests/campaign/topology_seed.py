"""The topology test's data, written in a child process with the topology's production
settings: ``python -m tests.campaign.topology_seed '<json>'``.

An active campaign, an organiser with a password and an authenticator app (the test
knows its key, as the organiser's phone would), and one district of consented
supporters in bulk (bulk_create: thousands in a second or two), then the supporter
tally recounted as the nightly task would. Prints the ids the test needs as JSON.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta

NAMES = [
    ("Siân", "O'Neill"),
    ("Zoë", "Featherstonehaugh-Cholmondeley"),
    ("Aoife", "Ní Bhriain"),
    ("Tomasz", "Nowak-Kowalska"),
    ("محمد", "الخطيب"),
    ("美咲", "佐藤"),
    ("Chinonso", "Okonkwo-Adeyemi"),
    ("José María", "García de la Fuente"),
]


def seed(*, username: str, password: str, totp_key: str, district: str, supporters: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from campaign.models import Campaign, TeamMember
    from campaign.roles import Role
    from contacts.aggregates import tally_rebuild
    from contacts.models import ConsentRecord, Contact, District, School, name_key
    from contacts.suppression import address_hash

    now = timezone.now()
    Campaign.objects.create(
        name="General Secretary 2027",
        candidate="Alex Morgan",
        ballot_opens=now - timedelta(days=1),
        ballot_closes=now + timedelta(days=20),
        sender_name="Rank and File for Alex Morgan",
        sender_email="team@topology.example.org",
        reply_to="replies@topology.example.org",
    )
    user = get_user_model().objects.create_user(
        username=username, password=password, email="organiser@topology.example.org", is_staff=True
    )
    TeamMember.objects.create(user=user, role=Role.ORGANISER)
    TOTPDevice.objects.create(user=user, name="Authenticator app", key=totp_key, confirmed=True)

    place = District.objects.create(name=district)
    # Hundreds of schools share a name across the union; these do within one district
    # too, told apart by URN.
    school_name = "St Mary's Church of England Primary School"
    schools = School.objects.bulk_create(
        School(
            name=school_name, name_key=name_key(school_name), urn=str(700000 + n), district=place
        )
        for n in range(max(1, supporters // 100))
    )
    step = 2500
    for start in range(0, supporters, step):
        contacts = Contact.objects.bulk_create(
            Contact(
                first_name=NAMES[n % len(NAMES)][0],
                last_name=NAMES[n % len(NAMES)][1],
                email=f"supporter-{n:05d}@schools.example.org",
                email_hash=address_hash(f"supporter-{n:05d}@schools.example.org"),
                school=schools[n % len(schools)],
                district=place,
            )
            for n in range(start, min(supporters, start + step))
        )
        ConsentRecord.objects.bulk_create(
            ConsentRecord(
                contact=contact,
                given_at=now - timedelta(days=30),
                source="topology test",
                wording="I agree to receive campaign emails about the General Secretary election.",
                method=ConsentRecord.Method.WEB_FORM,
            )
            for contact in contacts
        )
    tally_rebuild()
    return {"district_id": place.pk, "user_id": user.pk}


def main(argv: list[str]) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
    django.setup()
    print(json.dumps(seed(**json.loads(argv[0]))))


if __name__ == "__main__":
    main(sys.argv[1:])
