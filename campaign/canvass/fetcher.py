"""The only way a canvass PDF may load anything: our own PDF assets, nothing else.

WeasyPrint would otherwise follow any URL in the document (``file:///etc/passwd``,
``http://169.254.169.254/``...). Supporter names are escaped, so no markup of theirs
reaches the document, but the fetcher is the second wall: it serves files from the
project's ``campaign/static/canvass/`` directory (addressed by their public static URL)
and images generated for this very render (QR codes), and refuses every other URL.

Plain Python (no Django) so it can run in the PDF worker processes.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

from campaign.canvass.layout import GENERATED_SCHEME


class RefusedURL(ValueError):
    """A document asked for something the canvass fetcher does not serve."""


class CanvassURLFetcher(URLFetcher):
    """Serve ``<static_url>`` files from ``asset_dir`` and in-memory ``generated`` images."""

    def __init__(
        self,
        *,
        static_url: str,
        asset_dir: str | Path,
        generated: dict[str, tuple[bytes, str]] | None = None,
    ):
        super().__init__(timeout=1, allowed_protocols=(), allow_redirects=False)
        self.static_url = static_url if static_url.endswith("/") else f"{static_url}/"
        self.asset_dir = Path(asset_dir).resolve()
        self.generated = generated if generated is not None else {}

    def fetch(self, url, headers=None):
        if url.startswith(f"{GENERATED_SCHEME}:"):
            found = self.generated.get(url)
            if found is None:
                raise RefusedURL(f"No generated resource {url[:80]!r}.")
            body, mime = found
            return URLFetcherResponse(url, body, self._headers(mime))
        path = self.asset_path(url)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), self._headers(mime))

    @staticmethod
    def _headers(mime: str) -> dict[str, str]:
        # WeasyPrint sniffs raster images itself, and parsing a Content-Type header
        # costs milliseconds (one per school's QR code): only say what is not an image.
        return {} if mime in ("image/png", "image/jpeg") else {"Content-Type": mime}

    def asset_path(self, url: str) -> Path:
        """The file behind one of our static URLs; RefusedURL for anything else."""
        if not url.startswith(self.static_url):
            raise RefusedURL(f"Canvass PDFs load only their own assets, not {url[:80]!r}.")
        parts = urlsplit(url)
        if parts.query or parts.fragment:
            raise RefusedURL("Asset URLs take no query or fragment.")
        relative = unquote(url[len(self.static_url) :])
        pure = PurePosixPath(relative)
        if not relative or pure.is_absolute() or ".." in pure.parts or "\\" in relative:
            raise RefusedURL(f"Bad asset path {relative[:80]!r}.")
        # Only the canvass assets directory: the URL must name canvass/<file>.
        if pure.parts[0] != "canvass":
            raise RefusedURL(f"Not a canvass asset: {relative[:80]!r}.")
        path = (self.asset_dir / Path(*pure.parts[1:])).resolve()
        if not path.is_relative_to(self.asset_dir) or not path.is_file():
            raise RefusedURL(f"No such canvass asset {relative[:80]!r}.")
        return path
