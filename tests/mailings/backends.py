"""A scripted Anymail test backend: fail chosen calls the way real ESPs fail."""

from anymail.backends.test import EmailBackend as TestBackend


class ScriptedBackend(TestBackend):
    """Each call pops the next entry of ``script``: None sends, an exception is raised,
    a callable is called with the recipient addresses and may return an exception."""

    script: list = []

    def post_to_esp(self, payload, message):
        if ScriptedBackend.script:
            step = ScriptedBackend.script.pop(0)
            if callable(step) and not isinstance(step, Exception):
                step = step(list(payload.recipient_emails))
            if step is not None:
                raise step
        return super().post_to_esp(payload, message)
