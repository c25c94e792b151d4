from django.contrib import admin

from campaign.admin_scoping import ScopedModelAdmin
from mailings.models import Mailing


@admin.register(Mailing)
class MailingAdmin(ScopedModelAdmin):
    list_display = ["name", "subject", "status", "created_by", "created_at", "scheduled_for"]
    list_filter = ["status"]
    search_fields = ["name", "subject"]
    readonly_fields = ["status", "created_by", "approved_by", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
