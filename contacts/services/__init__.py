"""Writes to supporter data. Views, admin, commands and tasks call these."""

from contacts.services.consent import consent_give, consent_withdraw
from contacts.services.gotv import gotv_set, gotv_set_many
from contacts.services.records import (
    contact_details_update,
    contact_prepare,
    contact_save,
    district_get_or_create,
    school_prepare,
    school_save,
)
from contacts.services.suppression import suppression_add, suppression_add_many

__all__ = [
    "consent_give",
    "consent_withdraw",
    "contact_details_update",
    "contact_prepare",
    "contact_save",
    "district_get_or_create",
    "gotv_set",
    "gotv_set_many",
    "school_prepare",
    "school_save",
    "suppression_add",
    "suppression_add_many",
]
