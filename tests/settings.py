"""Settings for the test suite: the production settings, with test-only safety nets.

The database and Redis still come from DATABASE_URL / REDIS_URL, so the same suite
runs on the embedded default and on PostgreSQL + Redis.
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-suite-secret-key-not-for-production")
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
# A var directory (SqliteHuey file, outbox, packs) and a queue name per test process. Under
# xdist the controller imports these settings first and its workers inherit its
# environment, so the values are set again in each worker, never inherited.
if os.environ.get("TURNOUT_TEST_PROCESS") != _worker:
    os.environ["TURNOUT_TEST_PROCESS"] = _worker
    os.environ["TURNOUT_VAR_DIR"] = tempfile.mkdtemp(prefix=f"turnout-test-{_worker}-")
    os.environ["HUEY_NAME"] = f"turnout-test-{_worker}-{os.getpid()}"
# Tests never reach a real ESP: mail goes to Anymail's test backend unless a test
# picks a backend itself.
for _name in ("ANYMAIL_ESP", "DEBUG"):
    os.environ.pop(_name, None)

from campaign.settings import *  # noqa: E402,F403

EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
# The organisers' second factor is off by default here; the tests of it turn it on.
REQUIRE_2FA_FOR_ORGANISERS = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# On the embedded default the test database is a file in this process's var directory,
# opened as the product opens its own (WAL, IMMEDIATE transactions, a busy timeout), not
# SQLite's in-memory default. The browser journeys run the live server's requests, a
# queue consumer and the test itself in threads, each on its own connection, as the
# product's web server and consumer are; an in-memory database shared between
# connections fails such overlaps at once with "database table is locked" instead of
# waiting.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}  # noqa: F405
