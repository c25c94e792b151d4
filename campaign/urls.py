from django.contrib import admin
from django.urls import include, path

from campaign import views, views_audit, views_team
from campaign.canvass import views as canvass_views
from campaign.security.webhooks import tracking_urlpatterns
from mailings import views as mailing_views
from mailings.app import outbox as outbox_views

handler403 = "campaign.errors.permission_denied"
handler404 = "campaign.errors.page_not_found"
handler500 = "campaign.errors.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/2fa/", include("campaign.security.urls")),
    path("dashboard/drives/<int:pk>/approve/", views.drive_approve, name="dashboard-drive-approve"),
    # Before Django's own auth URLs so these names resolve to the product's versions.
    path("accounts/logout/", views.SignOutView.as_view(), name="logout"),
    path(
        "accounts/password_change/",
        views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path("accounts/invitation/<str:token>/", views_team.invitation, name="invitation-accept"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    # ESP tracking webhooks (basic auth + the ESP's signature; mailings/signals.py),
    # only for the ESPs Turnout supports (campaign/security/webhooks.py).
    path("anymail/", include((tracking_urlpatterns(), "anymail"))),
    path("contacts/", include("contacts.urls")),
    path("mailings/", include("mailings.urls")),
    path("drives/", include("mailings.app.urls")),
    path("u/<str:token>/", mailing_views.unsubscribe, name="unsubscribe"),
    path("canvass/", include("campaign.canvass.urls")),
    path("voted/<str:token>/", canvass_views.voted, name="voted"),
    path("outbox/", outbox_views.outbox_list, name="outbox"),
    path("outbox/<str:message_id>/", outbox_views.outbox_detail, name="outbox-message"),
    path("outbox/<str:message_id>/html/", outbox_views.outbox_html, name="outbox-message-html"),
    path("healthz", views.healthz, name="healthz"),
    # The organiser's workspace: team, campaign settings, audit trail.
    path("team/", views_team.team, name="team"),
    path("team/<int:pk>/", views_team.team_member, name="team-member"),
    path("team/<int:pk>/active/", views_team.team_member_active, name="team-member-active"),
    path("settings/", views_team.campaign_settings, name="campaign-settings"),
    path("audit/", views_audit.audit, name="audit"),
    path("audit/export.csv", views_audit.audit_export, name="audit-export"),
]
