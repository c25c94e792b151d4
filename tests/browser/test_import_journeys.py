"""The organiser imports a messy spreadsheet in the app, in a real browser: maps the
column the aliases do not know, maps a misspelt district onto the real one, confirms,
watches the progress bar, downloads the rejected rows; then undoes the import from
the history page."""

import csv
import io

import pytest
from django.db import connection

from contacts.importing import ImportOptions, queued, supporters_import
from contacts.models import Contact, District, ImportBatch
from tests.contacts.messy_import import EMAIL_HEADING, KNOWN_OUTCOME, messy_xlsx

pytestmark = pytest.mark.django_db(transaction=True)

CHOSEN = ("full_name", "email", "school", "district", "consent", "notes")

# Every bar value the page shows, in order: recorded in the page itself, so a value
# shown between two of the test's looks is not missed.
RECORD_PERCENTS = """
window.__percents = [];
function recordPercent() {
  const bar = document.querySelector('[data-percent]');
  if (bar) { window.__percents.push(Number(bar.dataset.percent)); }
}
document.addEventListener('DOMContentLoaded', recordPercent);
document.addEventListener('htmx:afterSwap', recordPercent);
"""


def _existing_supporter(cardiff) -> Contact:
    return (
        Contact.objects.filter(district=cardiff, consents__isnull=False)
        .order_by("pk")
        .distinct()
        .first()
    )


def _outcome(page, key: str) -> int:
    return int(page.locator(f'[data-outcome="{key}"]').inner_text().replace(",", ""))


def test_an_organiser_maps_columns_and_a_misspelt_district_then_imports_and_downloads_rejects(
    signed_in,
    organiser,
    world,
    settings,
    tmp_path,
    monkeypatch,
    screenshot,
    assert_accessible,
    assert_fits_width,
):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    cardiff = District.objects.get(name="Cardiff")
    existing = _existing_supporter(cardiff)
    messy = messy_xlsx(tmp_path / "freshers-fair.xlsx", existing_email=existing.email)
    districts_before = District.objects.count()

    page = signed_in(organiser, "desktop")
    page.add_init_script(RECORD_PERCENTS)
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    page.wait_for_url("**/contacts/import/")
    page.get_by_label("Spreadsheet").set_input_files(str(messy))
    page.get_by_role("button", name="Upload and choose columns").click()

    # The mapping screen: the email column is not recognised; the organiser maps it.
    page.wait_for_url("**/contacts/import/columns/**")
    row = page.locator("tr", has_text=EMAIL_HEADING)
    assert "Not recognised" in row.inner_text() and "sian.lj@example.org" in row.inner_text()
    screenshot(page, "import-columns", "desktop")
    assert_accessible(page)
    page.get_by_label(f'Import "{EMAIL_HEADING}" as').select_option("email")
    page.get_by_role("button", name="Preview the import").click()

    # The preview: "Cardif" would be created; the page suggests Cardiff.
    page.wait_for_url("**/contacts/import/preview/**")
    new_district = page.locator('[data-new-district="Cardif"]')
    assert "did you mean Cardiff?" in new_district.inner_text()
    screenshot(page, "import-preview", "desktop")
    assert_accessible(page)
    page.get_by_label('Use for "Cardif"').select_option(str(cardiff.pk))
    page.get_by_role("button", name="Use these places and preview again").click()
    page.wait_for_url("**/contacts/import/preview/**")
    assert page.locator('[data-new-district="Cardif"]').count() == 0
    assert _outcome(page, "created") == KNOWN_OUTCOME["created"]
    assert _outcome(page, "rejected") == KNOWN_OUTCOME["rejected"]
    assert "would create no new schools or districts" in page.inner_text("main")

    # Confirm: big enough to go to the queue (the threshold lowered to say so), the
    # page shows the progress bar while the worker (this test) runs the import.
    settings.IMPORT_SYNC_MAX_BYTES = 0
    page.get_by_role("button", name="Confirm and import").click()
    page.wait_for_url("**/contacts/import/*/")
    page.locator("#import-bar").wait_for()
    assert "Waiting to start" in page.inner_text("#import-status")
    screenshot(page, "import-progress", "desktop")
    batch = ImportBatch.objects.get(file_name="freshers-fair.xlsx")

    monkeypatch.setattr(queued, "PROGRESS_EVERY_SECONDS", 0)
    publish = queued._BatchProgress.publish

    def publish_and_pause(self):
        publish(self)
        if not connection.in_atomic_block or connection.vendor != "sqlite":
            # Leave the page time to poll and show the bar part-way. On SQLite only
            # while reading, before the import's transaction would hold the page's
            # reads; on PostgreSQL the page reads beside the import's transaction.
            page.wait_for_timeout(2500)

    monkeypatch.setattr(queued._BatchProgress, "publish", publish_and_pause)
    queued.batch_run(batch_id=batch.pk)

    page.get_by_text("What the import did").wait_for()
    percents = page.evaluate("window.__percents")
    assert percents[0] == 0 and percents[-1] == 100
    assert percents == sorted(percents), f"the bar went backwards: {percents}"
    assert any(0 < p < 100 for p in percents), f"never seen part-way: {percents}"
    main = page.inner_text("main")
    assert "Of 8 rows, 4 added as new supporters, 1 updated, 2 rejected" in main
    assert batch.sha256 not in page.content() and '{"' not in main
    for key in ("created", "updated", "rejected", "duplicate"):
        assert _outcome(page, key) == KNOWN_OUTCOME[key]
    screenshot(page, "import-result", "desktop")
    assert_accessible(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    saved = tmp_path / "rejected.csv"
    download.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert rows[0][-1] == "Problem"
    assert sorted(r[1] for r in rows[1:]) == ["noconsent@example.org", "not-an-address"]

    assert District.objects.count() == districts_before
    assert not District.objects.filter(name__iexact="cardif").exists()
    assert Contact.objects.get(email="sian.lj@example.org").district == cardiff

    page.set_viewport_size({"width": 390, "height": 844})
    assert_fits_width(page)


def test_an_organiser_undoes_that_import_from_the_history_page(
    signed_in, organiser, world, tmp_path, screenshot, assert_accessible, assert_fits_width
):
    cardiff = District.objects.get(name="Cardiff")
    existing = _existing_supporter(cardiff)
    before = (existing.first_name, existing.last_name)
    messy = messy_xlsx(tmp_path / "freshers-fair.xlsx", existing_email=existing.email)
    report = supporters_import(
        path=messy,
        file_name=messy.name,
        actor=organiser,
        options=ImportOptions(columns=CHOSEN, districts={"cardif": cardiff.pk}),
    )
    created = list(
        Contact.objects.filter(source_import_id=report.batch_id).values_list("email", flat=True)
    )
    assert len(created) == KNOWN_OUTCOME["created"]

    page = signed_in(organiser, "phone")
    page.goto("/contacts/import/")
    row = page.locator("tr", has_text="freshers-fair.xlsx")
    assert "organiser" in row.inner_text() and "Done" in row.inner_text()
    screenshot(page, "import-history", "phone")
    assert_accessible(page)
    assert_fits_width(page)
    row.get_by_role("link", name="Undo…").click()

    page.wait_for_url("**/undo/")
    plan = page.inner_text(".undo-plan")
    assert "Remove 4 supporters this import added" in plan
    assert "Put back 1 supporter this import changed" in plan
    screenshot(page, "import-undo", "phone")
    assert_accessible(page)
    page.get_by_role("button", name="Undo the import").click()

    page.wait_for_url(f"**/contacts/import/{report.batch_id}/")
    assert "Undone: removed 4 supporters and restored 1" in page.inner_text("#messages")
    assert not Contact.objects.filter(email__in=created).exists()
    existing.refresh_from_db()
    assert (existing.first_name, existing.last_name) == before
    assert District.objects.filter(pk=cardiff.pk).exists()
    page.goto("/contacts/import/")
    assert "Undone" in page.locator("tr", has_text="freshers-fair.xlsx").inner_text()


def test_a_file_dropped_on_the_upload_box_is_uploaded(
    signed_in, organiser, world, settings, tmp_path
):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "uploads"
    page = signed_in(organiser, "desktop")
    page.goto("/contacts/import/")
    page.evaluate(
        """() => {
          const file = new File(["Email,Consent\\nnew.person@example.org,yes\\n"],
                                "dropped.csv", {type: "text/csv"});
          const data = new DataTransfer();
          data.items.add(file);
          const zone = document.querySelector("[data-dropzone]");
          for (const name of ["dragenter", "dragover", "drop"]) {
            zone.dispatchEvent(new DragEvent(name, {dataTransfer: data, bubbles: true,
                                                    cancelable: true}));
          }
        }"""
    )
    assert page.inner_text("[data-dropzone-chosen]") == "Chosen: dropped.csv"
    page.get_by_role("button", name="Upload and choose columns").click()
    page.wait_for_url("**/contacts/import/columns/**")
    assert "new.person@example.org" in page.inner_text("main")
