from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = "Supporters"

    def ready(self) -> None:
        from contacts.tally_signals import connect_signals

        connect_signals()
