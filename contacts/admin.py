from django.contrib import admin, messages
from django.db.models import Exists, OuterRef
from django.utils import timezone

from campaign.admin_scoping import ScopedModelAdmin, ScopedTabularInline, VisibleRelatedFilter
from campaign.roles import can
from contacts.forms import ContactForm, SuppressionForm
from contacts.models import (
    ConsentRecord,
    Contact,
    District,
    ImportBatch,
    School,
    Suppression,
    Tag,
)
from contacts.services import consent_withdraw, contact_save, school_save, suppression_add


@admin.register(District)
class DistrictAdmin(ScopedModelAdmin):
    list_display = ["name", "region"]
    list_filter = ["region"]
    search_fields = ["name", "region"]


@admin.register(School)
class SchoolAdmin(ScopedModelAdmin):
    list_display = ["name", "urn", "district"]
    list_filter = [("district", VisibleRelatedFilter)]
    search_fields = ["name", "urn"]
    list_select_related = ["district"]
    autocomplete_fields = ["district"]

    def save_model(self, request, obj, form, change):
        school_save(school=obj)


@admin.register(Tag)
class TagAdmin(ScopedModelAdmin):
    search_fields = ["name"]


class ConsentInline(ScopedTabularInline):
    """Consent is evidence: records are added, never edited; withdrawal is an action."""

    model = ConsentRecord
    extra = 0
    fields = ["given_at", "method", "source", "wording", "version", "withdrawn_at", "withdrawn_how"]

    def has_change_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return ["withdrawn_at", "withdrawn_how"]


class MailableFilter(admin.SimpleListFilter):
    title = "email consent"
    parameter_name = "mailable"

    def lookups(self, request, model_admin):
        return [("yes", "Current consent"), ("no", "No current consent")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(has_consent=True)
        if self.value() == "no":
            return queryset.filter(has_consent=False)
        return queryset


@admin.register(Contact)
class ContactAdmin(ScopedModelAdmin):
    form = ContactForm
    list_display = [
        "full_name",
        "email",
        "school",
        "district",
        "role",
        "gotv_status",
        "mailable",
    ]
    list_filter = [
        MailableFilter,
        "role",
        "gotv_status",
        ("district", VisibleRelatedFilter),
        "tags",
    ]
    search_fields = ["first_name", "last_name", "email", "school__name", "=school__urn"]
    list_select_related = ["school", "district"]
    autocomplete_fields = ["school", "district"]
    filter_horizontal = ["tags"]
    readonly_fields = ["source_import", "created_at", "updated_at"]
    inlines = [ConsentInline]
    actions = ["withdraw_consent"]
    list_per_page = 50

    def get_queryset(self, request):
        from contacts.models import ConsentRecord as Consent

        current = Consent.objects.filter(
            contact=OuterRef("pk"),
            channel=Consent.Channel.EMAIL,
            withdrawn_at__isnull=True,
            given_at__lte=timezone.now(),
        )
        return super().get_queryset(request).annotate(has_consent=Exists(current))

    @admin.display(description="Mailable", boolean=True, ordering="has_consent")
    def mailable(self, obj: Contact) -> bool:
        return obj.has_consent

    def save_model(self, request, obj, form, change):
        contact_save(contact=obj)

    def has_withdraw_permission(self, request) -> bool:
        return can(request.user, "change", "contacts.consentrecord")

    @admin.action(
        description="Withdraw email consent (the supporter asked)", permissions=["withdraw"]
    )
    def withdraw_consent(self, request, queryset):
        count = consent_withdraw(
            contacts=queryset, how=ConsentRecord.WithdrawnHow.REQUEST, actor=request.user
        )
        self.message_user(request, f"Withdrew {count} consent record(s).", messages.SUCCESS)


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ScopedModelAdmin):
    list_display = ["contact", "channel", "given_at", "method", "source", "withdrawn_at"]
    list_filter = ["method", "withdrawn_how", ("given_at", admin.DateFieldListFilter)]
    search_fields = ["contact__email", "contact__last_name", "source"]
    list_select_related = ["contact"]
    autocomplete_fields = ["contact"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ImportBatch)
class ImportBatchAdmin(ScopedModelAdmin):
    list_display = ["file_name", "created_by", "created_at", "status"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in ImportBatch._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Suppression)
class SuppressionAdmin(ScopedModelAdmin):
    """Organisers may add an address by hand; nothing here is ever lifted or edited."""

    list_display = ["created_at", "reason", "source"]
    list_filter = ["reason", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["source"]
    fields = ["email", "reason", "source"]
    form = SuppressionForm

    def has_change_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        return ["address_hash", "reason", "source", "created_at"] if obj else self.fields

    def get_readonly_fields(self, request, obj=None):
        return ["address_hash", "reason", "source", "created_at"] if obj else []

    def save_model(self, request, obj, form, change):
        saved = suppression_add(
            email=form.cleaned_data["email"],
            reason=form.cleaned_data["reason"],
            source=form.cleaned_data["source"] or f"added by {request.user.get_username()}",
        )
        obj.pk = saved.pk
