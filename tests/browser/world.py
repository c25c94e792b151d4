"""A small but realistic campaign for the browser journeys: twelve districts, schools
that share names, long, accented, double-barrelled and non-Latin names, every GOTV
status, drives in every state."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from campaign.models import CanvassPack
from contacts.aggregates import tally_mark_everything, tally_scope
from contacts.models import Contact, ImportBatch
from mailings.models import Mailing, Recipient
from tests.factories import (
    CampaignFactory,
    ConsentedContactFactory,
    ContactFactory,
    DistrictFactory,
    SchoolFactory,
)

FIRST = ["Siân", "Aoife", "Mohammed", "Zofia", "Chidi", "Mei", "Ravi", "Niamh", "Oluwaseun"]
LAST = [
    "O'Neill",
    "Featherstonehaugh-Montgomery-Smythe",
    "Nowak",
    "Ní Bhriain",
    "Adeyemi-Okonkwo",
    "王",
    "Krishnamurthy",
    "Smith",
]
SCHOOLS = [
    "St Mary's Catholic Primary School",
    "St Mary's C of E Voluntary Aided Junior School and Nursery",
    "Ysgol Gymraeg Bro Morgannwg",
    "Oakfield Academy",
]
STATUSES = ["unknown", "pledged", "ballot_received", "voted", "wont_vote"]


def build_world(**people_and_places):
    # One tally recount at the end, as a bulk write does, not two per supporter saved.
    with tally_scope():
        tally_mark_everything()
        return _build_world(**people_and_places)


def _build_world(*, district_a, district_b, school_a, school_b, organiser, volunteer, lead_b):
    rng = random.Random(11)
    now = timezone.now()
    campaign = CampaignFactory(
        ballot_opens=now - timedelta(days=4), ballot_closes=now + timedelta(days=20)
    )
    districts = [district_a, district_b] + [
        DistrictFactory(name=name)
        for name in [
            "Cardiff",
            "Tower Hamlets",
            "Leeds",
            "Belfast & Lisburn",
            "Newcastle upon Tyne",
            "Bristol",
            "Gwynedd",
            "Birmingham South",
            "Lambeth",
            "Kirklees",
        ]
    ]
    urn = 300000
    for index, district in enumerate(districts):
        schools = (
            [school_a] if district == district_a else [school_b] if district == district_b else []
        )
        for name in SCHOOLS[: 2 + index % 3]:
            urn += 1
            schools.append(SchoolFactory(name=name, urn=str(urn), district=district))
        for school in schools:
            for _ in range(rng.randint(3, 7)):
                factory = ConsentedContactFactory if rng.random() < 0.8 else ContactFactory
                factory(
                    first_name=rng.choice(FIRST),
                    last_name=rng.choice(LAST),
                    school=school,
                    gotv_status=rng.choices(STATUSES, weights=[4, 3, 1, 2 + index % 5, 1])[0],
                    role=rng.choice(Contact.Role.values),
                )
    # Two supporters of district A with no school recorded.
    for _ in range(2):
        ContactFactory(school=None, district=district_a, gotv_status="pledged")

    sending = Mailing.objects.create(
        name="Last week: post your ballot",
        subject="{{ first_name }}, have you posted your ballot?",
        body="Hello",
        created_by=volunteer,
        status=Mailing.Status.SENDING,
        started_at=now - timedelta(minutes=4),
    )
    for i, contact in enumerate(Contact.objects.filter(district=district_a)):
        Recipient.objects.create(
            mailing=sending,
            contact=contact,
            email=contact.email,
            email_hash=contact.email_hash,
            status=["sent", "sent", "queued", "unknown"][i % 4],
        )
    Mailing.objects.create(
        name="Union-wide reminder for every supporter with consent",
        subject="The ballot is open",
        body="Hello",
        created_by=volunteer,
        status=Mailing.Status.AWAITING_APPROVAL,
    )
    Mailing.objects.create(
        name="Thank-you note", subject="Thank you", body="Hi", created_by=volunteer
    )
    ImportBatch.objects.create(
        file_name="conference-signups-2026.xlsx",
        sha256="0" * 64,
        status=ImportBatch.Status.DONE,
        created_by=organiser,
        counts={"created": 212, "updated": 31},
    )
    pack_b = CanvassPack.objects.create(district=district_b, requested_by=lead_b)
    return {"campaign": campaign, "districts": districts, "pack_b": pack_b, "sending": sending}
