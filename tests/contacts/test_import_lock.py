"""On SQLite a long import leaves the web app answering: rows are read and checked
before the write transaction, and the writes are quick, so sign-in (which writes a
session and last_login) gets the write lock while a large file is being imported.

The import and the signed-in client are separate processes on one SQLite file, as the
web server and the task queue are in the embedded deployment.
"""

import csv
import random
import time

import pytest

from tests.contacts.import_processes import (
    finish,
    import_file,
    migrated_database,
    process_env,
    start,
)

# Enough rows that the import outlasts several sign-ins on a busy machine. The importer
# got faster: 60,000 rows once took 2.4 s while a sign-in under the same load took 1.8 s,
# leaving room for only one inside the window in which the lock is at stake.
ROWS = 150_000


def write_national_export(path, rows: int, seed: int = 9) -> None:
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["Email", "First name", "Surname", "Mobile", "School", "School URN", "District"]
            + ["Consent to email", "Consent date", "Notes"]
        )
        for n in range(rows):
            school = rng.randrange(2000)
            writer.writerow(
                [
                    f"supporter{n}@example.org",
                    rng.choice(["Siân", "Tomasz", "Aoife", "王", "Kemi"]),
                    rng.choice(["O'Neill", "Nowak", "Ní Bhriain", "Adeyemi-Smith"]),
                    f"07700 900{rng.randrange(1000):03d}",
                    f"St Mary's Primary School {school}",
                    str(300_000 + school),
                    f"District {school % 20:02d}",
                    "yes",
                    f"{rng.randrange(1, 28):02d}/0{rng.randrange(1, 10)}/2024",
                    "",
                ]
            )


@pytest.fixture
def database(tmp_path):
    return migrated_database(tmp_path)


def test_sign_in_and_pages_keep_working_while_a_large_import_runs_on_sqlite(database, tmp_path):
    export = tmp_path / "national.csv"
    write_national_export(export, ROWS)
    stop = tmp_path / "stop"
    client = start(
        ["-m", "tests.contacts.import_processes", "sign-in", str(stop)],
        process_env(database),
        tmp_path / "client",
    )
    try:
        run = import_file(database, export)
        finished_at = time.time()
    finally:
        stop.touch()
        signed = finish(client, tmp_path / "client", time.monotonic())

    assert run.returncode == 0, run.stderr[-3000:]
    result = run.result()
    assert result["error"] == "" and result["report"]["created"] == ROWS
    assert signed.returncode == 0, signed.stderr[-3000:]
    attempts = signed.result()
    errors = [a["error"] for a in attempts if "error" in a]
    assert errors == [], f"{len(errors)} of {len(attempts)} attempts failed: {errors[:1]}"
    assert all(a["statuses"] == [200, 302, 200, 200] and a["signed_in"] for a in attempts)
    # The import's own run (after start-up) is the window in which the lock was at
    # stake: sign-ins must have gone through inside it, none waiting past the busy
    # timeout (CLIENT_LOCK_TIMEOUT s, the product's), which would have been an error.
    began = finished_at - result["seconds"]
    during = [a for a in attempts if began <= a["at"] and a["at"] + a["seconds"] <= finished_at]
    assert len(during) >= 2, (
        f"{len(during)} sign-ins during the {result['seconds']:.1f} s import; "
        f"{len(attempts)} in all"
    )
