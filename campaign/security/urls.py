from django.urls import path

from campaign.security import views

urlpatterns = [
    path("setup/", views.otp_setup, name="otp-setup"),
    path("verify/", views.otp_verify, name="otp-verify"),
]
