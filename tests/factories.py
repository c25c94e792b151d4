"""factory_boy factories for bulk test data."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from campaign.models import Campaign
from contacts.models import ConsentRecord, Contact, District, School, name_key
from contacts.suppression import address_hash


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"District {n}")
    region = "North West"


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School

    name = factory.Sequence(lambda n: f"School {n} Primary")
    name_key = factory.LazyAttribute(lambda s: name_key(s.name))
    urn = factory.Sequence(lambda n: str(100000 + n))
    district = factory.SubFactory(DistrictFactory)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    first_name = factory.Faker("first_name", locale="en_GB")
    last_name = factory.Faker("last_name", locale="en_GB")
    email = factory.Sequence(lambda n: f"supporter{n}@example.org")
    email_hash = factory.LazyAttribute(lambda c: address_hash(c.email))
    school = factory.SubFactory(SchoolFactory)
    district = factory.LazyAttribute(lambda c: c.school.district if c.school else None)


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentRecord

    contact = factory.SubFactory(ContactFactory)
    channel = ConsentRecord.Channel.EMAIL
    given_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=30))
    source = "Sign-up form at conference"
    wording = "I agree to receive campaign emails."
    version = "v1"
    method = ConsentRecord.Method.WEB_FORM


class ConsentedContactFactory(ContactFactory):
    class Meta:
        skip_postgeneration_save = True

    consent = factory.RelatedFactory(ConsentFactory, factory_related_name="contact")


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = "Rank and File for General Secretary"
    candidate = "Alex Morgan"
    ballot_opens = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    ballot_closes = factory.LazyFunction(lambda: timezone.now() + timedelta(days=35))
    sender_name = "Rank and File"
    sender_email = "team@campaign.example.org"
    reply_to = "replies@campaign.example.org"
