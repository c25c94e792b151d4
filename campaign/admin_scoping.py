"""Admin classes that apply the campaign's role rules and ``visible_to`` scoping.

Every ModelAdmin and inline in Turnout derives from these, so the admin can never
show more than the rest of the app would.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import Http404

from campaign.roles import can


def _scoped(queryset, user):
    return queryset.visible_to(user) if hasattr(queryset, "visible_to") else queryset


class _RoleRules:
    model = None

    def _may(self, request, action: str) -> bool:
        return can(request.user, action, self.model._meta.label_lower)

    def has_view_permission(self, request, obj=None):
        return self._may(request, "view") or self._may(request, "change")

    def has_add_permission(self, request, obj=None):
        return self._may(request, "add")

    def has_change_permission(self, request, obj=None):
        return self._may(request, "change")

    def has_delete_permission(self, request, obj=None):
        return self._may(request, "delete")

    def _limit_choices(self, db_field, request, kwargs):
        if "queryset" not in kwargs:
            kwargs["queryset"] = _scoped(
                db_field.remote_field.model._default_manager.all(), request.user
            )
        return kwargs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return super().formfield_for_foreignkey(
            db_field, request, **self._limit_choices(db_field, request, kwargs)
        )

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return super().formfield_for_manytomany(
            db_field, request, **self._limit_choices(db_field, request, kwargs)
        )


class ScopedModelAdmin(_RoleRules, admin.ModelAdmin):
    show_full_result_count = False

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def get_queryset(self, request):
        return _scoped(super().get_queryset(request), request.user)

    def _404_unless_visible(self, request, object_id) -> None:
        # Django's admin redirects on a missing object; out-of-scope rows must look
        # exactly like rows that do not exist, as everywhere else in Turnout.
        if object_id is None:
            return
        try:
            visible = self.get_queryset(request).filter(pk=unquote(object_id)).exists()
        except (ValueError, TypeError):
            visible = False
        if not visible:
            raise Http404("No such record.")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._404_unless_visible(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._404_unless_visible(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._404_unless_visible(request, object_id)
        return super().history_view(request, object_id, extra_context)


class ScopedTabularInline(_RoleRules, admin.TabularInline):
    def get_queryset(self, request):
        return _scoped(super().get_queryset(request), request.user)


class VisibleRelatedFilter(admin.RelatedFieldListFilter):
    """A related-object filter offering only the objects the user may see."""

    def field_choices(self, field, request, model_admin):
        related = _scoped(field.remote_field.model._default_manager.all(), request.user)
        return [(obj.pk, str(obj)) for obj in related]
