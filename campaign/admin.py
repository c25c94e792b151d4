from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError

from campaign.admin_scoping import ScopedModelAdmin
from campaign.models import AuditEvent, Campaign, TeamMember
from campaign.services import (
    last_organiser_check,
    team_member_remove,
    team_member_set,
    team_member_validate,
)

admin.site.site_header = "Turnout"
admin.site.site_title = "Turnout"
admin.site.index_title = "Campaign data"

User = get_user_model()


@admin.register(Campaign)
class CampaignAdmin(ScopedModelAdmin):
    list_display = ["name", "candidate", "ballot_opens", "ballot_closes", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "candidate"]


class TeamMemberForm(forms.ModelForm):
    class Meta:
        model = TeamMember
        fields = ["user", "role", "districts", "all_districts"]

    def clean(self):
        cleaned = super().clean()
        try:
            team_member_validate(
                role=cleaned.get("role"),
                districts=cleaned.get("districts") or [],
                all_districts=cleaned.get("all_districts", False),
            )
        except ValidationError as exc:
            raise ValidationError(exc.message_dict) from None
        user = cleaned.get("user") or getattr(self.instance, "user", None)
        if user is not None and user.pk is not None:
            # The campaign always keeps an organiser (the app's team page says so too).
            last_organiser_check(user=user, role_after=cleaned.get("role"))
        return cleaned


@admin.register(TeamMember)
class TeamMemberAdmin(ScopedModelAdmin):
    form = TeamMemberForm
    list_display = ["user", "role", "district_names", "all_districts"]
    list_filter = ["role", "all_districts"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    filter_horizontal = ["districts"]
    autocomplete_fields = ["user"]

    def get_readonly_fields(self, request, obj=None):
        # Moving a role to another account would silently leave the first one in place.
        return ["user"] if obj is not None else []

    @admin.display(description="Districts")
    def district_names(self, obj: TeamMember) -> str:
        return ", ".join(d.name for d in obj.districts.all()) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").prefetch_related("districts")

    def save_model(self, request, obj, form, change):
        saved = team_member_set(
            actor=request.user,
            user=obj.user if change else form.cleaned_data["user"],
            role=form.cleaned_data["role"],
            districts=form.cleaned_data["districts"],
            all_districts=form.cleaned_data["all_districts"],
        )
        obj.pk = saved.pk

    def save_related(self, request, form, formsets, change):
        # team_member_set has already stored the districts (and audited them).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj):
        team_member_remove(actor=request.user, user=obj.user)

    def delete_queryset(self, request, queryset):
        for member in queryset.select_related("user"):
            team_member_remove(actor=request.user, user=member.user)


@admin.register(AuditEvent)
class AuditEventAdmin(ScopedModelAdmin):
    list_display = ["created_at", "actor_label", "action", "target_type", "target_label", "counts"]
    list_filter = ["action", "target_type", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["actor_label", "target_label", "target_id"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(ScopedModelAdmin, DjangoUserAdmin):
    """Accounts are organisers' business; roles change only through Team members."""

    list_display = ["username", "email", "first_name", "last_name", "team_role", "is_active"]
    list_select_related = ["team_member"]

    @admin.display(description="Role")
    def team_role(self, obj) -> str:
        member = getattr(obj, "team_member", None)
        return member.get_role_display() if member else "—"

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += ["is_staff", "is_superuser", "groups", "user_permissions"]
        return fields

    # Only a superuser changes a superuser (details, password, flags) or removes one:
    # otherwise an organiser could take over the one account that can do everything.
    # Organisers still see superusers, read-only. Every change that matters is written
    # to the audit trail by campaign/security/signals.py, whichever form made it.
    def _guards_superuser(self, request, obj) -> bool:
        return obj is not None and obj.is_superuser and not request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        if self._guards_superuser(request, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if self._guards_superuser(request, obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        if not request.user.is_superuser and queryset.filter(is_superuser=True).exists():
            raise PermissionDenied("Only a superuser can remove a superuser.")
        super().delete_queryset(request, queryset)


# --- Canvass packs and GOTV history --------------------------------------------------

from campaign.models import CanvassPack  # noqa: E402
from contacts.models import GotvEvent  # noqa: E402


@admin.register(CanvassPack)
class CanvassPackAdmin(ScopedModelAdmin):
    """Packs are requested from the canvass pages; here organisers see who printed what."""

    list_display = [
        "created_at",
        "district",
        "requested_by",
        "status",
        "rows",
        "pages",
        "sheet_code",
    ]
    list_filter = ["status", "with_email"]
    search_fields = ["sheet_code", "district__name", "requested_by__username"]
    list_select_related = ["district", "requested_by"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(GotvEvent)
class GotvEventAdmin(ScopedModelAdmin):
    """The history of every GOTV status change: who, when and how. Read-only evidence."""

    list_display = ["created_at", "contact", "previous_status", "status", "method", "actor"]
    list_filter = ["method", "status", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["contact__first_name", "contact__last_name", "contact__email"]
    list_select_related = ["contact", "actor"]
    raw_id_fields = ["contact"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        from contacts.models import Contact

        # GotvEvent has no visible_to of its own: scope it through its contact.
        visible = Contact.objects.visible_to(request.user).values("pk")
        return super().get_queryset(request).filter(contact__in=visible)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Sign-in security: lockouts and second factors ------------------------------------

from axes.admin import AccessAttemptAdmin  # noqa: E402
from axes.models import AccessAttempt  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from campaign.services import audit_record  # noqa: E402


@admin.register(AccessAttempt)
class SignInLockoutAdmin(ScopedModelAdmin, AccessAttemptAdmin):
    """Failed sign-ins per username and address (django-axes). Deleting a row lifts its
    lockout at once; organisers only, audited."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def _audit_unlock(self, request, attempt) -> None:
        audit_record(
            actor=request.user,
            action=AuditEvent.Action.SIGN_IN_UNLOCK,
            detail={
                "username": attempt.username,
                "failures": attempt.failures_since_start,
            },
        )

    def delete_model(self, request, obj):
        self._audit_unlock(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for attempt in queryset:
            self._audit_unlock(request, attempt)
        super().delete_queryset(request, queryset)


if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class AuthenticatorAdmin(ScopedModelAdmin):
    """Organisers' authenticator apps. Secrets are never shown; removing one (a lost
    phone) makes its owner set up a new one at their next sign-in. Audited."""

    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.user.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def _audit_removal(self, request, device) -> None:
        audit_record(
            actor=request.user,
            action=AuditEvent.Action.SECOND_FACTOR,
            target=device.user,
            detail={"removed": device.name},
        )

    def delete_model(self, request, obj):
        self._audit_removal(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        queryset = queryset.select_related("user")
        if not request.user.is_superuser and queryset.filter(user__is_superuser=True).exists():
            raise PermissionDenied("Only a superuser can remove a superuser's authenticator.")
        for device in queryset:
            self._audit_removal(request, device)
        super().delete_queryset(request, queryset)
