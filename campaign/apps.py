from django.apps import AppConfig


class CampaignConfig(AppConfig):
    name = "campaign"
    verbose_name = "Campaign"

    def ready(self) -> None:
        # Account changes are audited and sign-in times recorded by signal receivers.
        from campaign.security import signals  # noqa: F401
