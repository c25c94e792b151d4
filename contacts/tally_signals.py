"""Signals that keep the supporter tally (contacts/aggregates.py) exact for single-object
writes that bypass the services: the admin's consent inline, a contact saved or deleted
through the ORM, a suppression created, tags changed. Each such write is tracked like a
service's change, or folded into the bulk scope it runs inside."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.utils import timezone

from contacts.aggregates import NO_DISTRICT, _current, _Scope
from contacts.models import ConsentRecord, Contact, Suppression

_PENDING = "_tally_pending_scope"


def _begin(instance, contact_ids: Iterable[int], *, district_ids: Iterable[int | None] = ()):
    scope = _current.get()
    if scope is not None:
        if scope.bulk:
            scope.districts.update(NO_DISTRICT if d is None else d for d in district_ids)
        else:
            scope.track(contact_ids)
        return
    # No scope: this one write gets its own, finished by the post_* signal.
    own = _Scope(at=timezone.now())
    own.track(contact_ids)
    setattr(instance, _PENDING, own)


def _end(instance, *, created_pk: int | None = None, district_ids=(), new_hash: str = ""):
    scope = _current.get()
    own = instance.__dict__.pop(_PENDING, None)
    target = scope or own
    if target is None:
        return
    if created_pk is not None:
        if target.bulk:
            target.districts.update(NO_DISTRICT if d is None else d for d in district_ids)
        else:
            target.track_created(created_pk)
    if new_hash:
        target.new_hashes.add(new_hash)
    if own is not None and scope is None:
        own.finish()


def _contact_pre_save(sender, instance: Contact, raw=False, **kwargs) -> None:
    if raw:
        return
    old_district = None
    if instance.pk is not None and _current.get() is not None and _current.get().bulk:
        old_district = (
            Contact.objects.filter(pk=instance.pk).values_list("district_id", flat=True).first()
        )
    _begin(
        instance,
        [instance.pk] if instance.pk is not None else [],
        district_ids=[old_district, instance.district_id],
    )


def _contact_post_save(sender, instance: Contact, created=False, raw=False, **kwargs) -> None:
    if raw:
        return
    _end(
        instance,
        created_pk=instance.pk if created else None,
        district_ids=[instance.district_id],
        new_hash=instance.email_hash,
    )


def _contact_pre_delete(sender, instance: Contact, **kwargs) -> None:
    _begin(instance, [instance.pk], district_ids=[instance.district_id])


def _contact_post_delete(sender, instance: Contact, **kwargs) -> None:
    _end(instance)


def _consent_pre_save(sender, instance: ConsentRecord, raw=False, **kwargs) -> None:
    if raw:
        return
    district = None
    scope = _current.get()
    if scope is not None and scope.bulk:
        district = (
            Contact.objects.filter(pk=instance.contact_id)
            .values_list("district_id", flat=True)
            .first()
        )
    _begin(instance, [instance.contact_id], district_ids=[district])


def _consent_post_save(sender, instance: ConsentRecord, raw=False, **kwargs) -> None:
    if not raw:
        _end(instance)


def _holders(address_hash: str) -> list[tuple[int, int | None]]:
    return list(Contact.objects.filter(email_hash=address_hash).values_list("pk", "district_id"))


def _suppression_pre_save(sender, instance: Suppression, raw=False, **kwargs) -> None:
    if raw:
        return
    holders = _holders(instance.address_hash)
    _begin(instance, [pk for pk, _ in holders], district_ids=[d for _, d in holders])


def _suppression_post_save(sender, instance: Suppression, raw=False, **kwargs) -> None:
    if not raw:
        _end(instance)


def _tags_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action not in (
        "pre_add",
        "pre_remove",
        "pre_clear",
        "post_add",
        "post_remove",
        "post_clear",
    ):
        return
    if action.startswith("post"):
        _end(instance)
        return
    if not reverse:
        ids = [instance.pk]
    elif action == "pre_clear":
        ids = list(instance.contacts.values_list("pk", flat=True))
    else:
        ids = list(pk_set or ())
    districts = Contact.objects.filter(pk__in=ids).values_list("district_id", flat=True)
    scope = _current.get()
    _begin(instance, ids, district_ids=districts if scope is not None and scope.bulk else ())


def connect_signals() -> None:
    """Called once from the app config."""
    uid = "contacts.aggregates"
    m2m_changed.connect(
        _tags_changed, sender=Contact.tags.through, dispatch_uid=f"{uid}.contact.tags"
    )
    pre_save.connect(_contact_pre_save, sender=Contact, dispatch_uid=f"{uid}.contact.pre")
    post_save.connect(_contact_post_save, sender=Contact, dispatch_uid=f"{uid}.contact.post")
    pre_delete.connect(_contact_pre_delete, sender=Contact, dispatch_uid=f"{uid}.contact.pre_del")
    post_delete.connect(
        _contact_post_delete, sender=Contact, dispatch_uid=f"{uid}.contact.post_del"
    )
    # Consent records are only added one by one outside the services (the admin's
    # inline); none is deleted except by undo, which recounts. No delete receivers, so
    # cascades keep Django's fast delete.
    pre_save.connect(_consent_pre_save, sender=ConsentRecord, dispatch_uid=f"{uid}.consent.pre")
    post_save.connect(_consent_post_save, sender=ConsentRecord, dispatch_uid=f"{uid}.consent.post")
    pre_save.connect(
        _suppression_pre_save, sender=Suppression, dispatch_uid=f"{uid}.suppression.pre"
    )
    post_save.connect(
        _suppression_post_save, sender=Suppression, dispatch_uid=f"{uid}.suppression.post"
    )
