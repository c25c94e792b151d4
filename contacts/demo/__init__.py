"""Demo data: a believable, entirely fictional union membership (see seeding.py)."""

from contacts.demo.plan import ascii_fold, plan_contacts, plan_districts, plan_schools, stream
from contacts.demo.seeding import (
    DEMO_PASSWORD,
    DemoLogin,
    SeedOptions,
    SeedRefused,
    SeedResult,
    create_demo_users,
    seed,
)
from contacts.demo.vocabulary import DISTRICTS

__all__ = [
    "DEMO_PASSWORD",
    "DISTRICTS",
    "DemoLogin",
    "SeedOptions",
    "SeedRefused",
    "SeedResult",
    "ascii_fold",
    "create_demo_users",
    "plan_contacts",
    "plan_districts",
    "plan_schools",
    "seed",
    "stream",
]
