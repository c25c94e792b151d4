"""The third-party security apps, under names organisers understand in the admin."""

from axes.apps import AppConfig as AxesAppConfig
from django_otp.plugins.otp_totp.apps import DefaultConfig as TotpAppConfig


class SignInLockoutsConfig(AxesAppConfig):
    verbose_name = "Sign-in lockouts"


class AuthenticatorAppsConfig(TotpAppConfig):
    verbose_name = "Second factor"
