"""Canvass sheets (WeasyPrint PDFs per school and district), tick-off and the paper
round-trip. ``pdf`` and ``fetcher`` are Django-free: the PDF worker processes import them."""
