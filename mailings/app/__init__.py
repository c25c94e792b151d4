"""The drives web app: list, composer, approval, live drive page, report, outbox."""
