"""Errors that stop a whole import before anything is written."""


class FileError(Exception):
    """The file as a whole cannot be imported (unreadable, missing column, too big).

    The message is meant for the organiser: it says what is wrong and what to do.
    """
