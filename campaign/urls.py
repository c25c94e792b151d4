from django.contrib import admin
from django.urls import include, path

from campaign import views
from campaign.canvass import views as canvass_views
from campaign.security.webhooks import tracking_urlpatterns
from mailings import views as mailing_views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/2fa/", include("campaign.security.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    # ESP tracking webhooks (basic auth + the ESP's signature; mailings/signals.py),
    # only for the ESPs Turnout supports (campaign/security/webhooks.py).
    path("anymail/", include((tracking_urlpatterns(), "anymail"))),
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
