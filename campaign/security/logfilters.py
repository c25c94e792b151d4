"""Logging filters: personal data must not reach log files."""

from __future__ import annotations

import logging
import re

# A path followed by a query string, inside a request line or a URL: keep the path.
_QUERY = re.compile(r"(?P<path>(?:https?://[^\s/?#\"']+)?/[^\s?#\"']*)\?[^\s#\"']*")


def strip_query_strings(text: str) -> str:
    return _QUERY.sub(r"\g<path>", text) if "?" in text else text


class StripQueryStrings(logging.Filter):
    """Remove query strings from every logged message (runserver's access log included).

    Searches and previews used to carry addresses and ids in the query string; the
    pages now post them, and this filter makes sure a stray one never lands on disk.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = strip_query_strings(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True
