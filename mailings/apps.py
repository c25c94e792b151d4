from django.apps import AppConfig


class MailingsConfig(AppConfig):
    name = "mailings"
    verbose_name = "Email drives"

    def ready(self) -> None:
        # The tracking receiver and the guard's periodic task register on import.
        from mailings import signals, tracking_tasks  # noqa: F401
