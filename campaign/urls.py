from django.contrib import admin
from django.urls import include, path

from campaign import views
from campaign.canvass import views as canvass_views
from mailings import views as mailing_views
from mailings.webhooks import MailgunTrackingView

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    # ESP tracking webhooks (basic auth + the ESP's signature; mailings/signals.py).
    # Mailgun's with replay protection (mailings/webhooks.py); the other ESPs' from Anymail.
    path("anymail/mailgun/tracking/", MailgunTrackingView.as_view(), name="mailgun-tracking"),
    path("anymail/", include("anymail.urls")),
    path("contacts/", include("contacts.urls")),
    path("mailings/", include("mailings.urls")),
    path("u/<str:token>/", mailing_views.unsubscribe, name="unsubscribe"),
    path("canvass/", include("campaign.canvass.urls")),
    path("voted/<str:token>/", canvass_views.voted, name="voted"),
    path("outbox/", views.outbox_list, name="outbox"),
    path("outbox/<str:message_id>/", views.outbox_detail, name="outbox-message"),
    path("outbox/<str:message_id>/html/", views.outbox_html, name="outbox-message-html"),
    path("healthz", views.healthz, name="healthz"),
]
