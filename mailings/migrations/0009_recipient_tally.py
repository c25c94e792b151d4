"""The drives' rows by status, kept by triggers (mailings.models.RecipientTally)."""

from django.db import migrations, models

TALLY = "mailings_recipienttally"
ROWS = "mailings_recipient"

# PostgreSQL: one trigger per statement, reading the statement's transition tables, so
# a snapshot of 400,000 rows or a claim of 1,000 adds a line or two, not one per row.
POSTGRESQL = [
    f"""
    CREATE FUNCTION mailings_recipient_tally_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO {TALLY} (mailing_id, status, n)
        SELECT mailing_id, status, count(*) FROM new_rows GROUP BY mailing_id, status;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION mailings_recipient_tally_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO {TALLY} (mailing_id, status, n)
        SELECT mailing_id, status, sum(n) FROM (
            SELECT mailing_id, status, count(*) AS n FROM new_rows GROUP BY mailing_id, status
            UNION ALL
            SELECT mailing_id, status, -count(*) FROM old_rows GROUP BY mailing_id, status
        ) AS changed
        GROUP BY mailing_id, status
        HAVING sum(n) <> 0;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE FUNCTION mailings_recipient_tally_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO {TALLY} (mailing_id, status, n)
        SELECT mailing_id, status, -count(*) FROM old_rows GROUP BY mailing_id, status;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE TRIGGER mailings_recipient_tally_insert AFTER INSERT ON {ROWS}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mailings_recipient_tally_insert()
    """,
    f"""
    CREATE TRIGGER mailings_recipient_tally_update AFTER UPDATE ON {ROWS}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mailings_recipient_tally_update()
    """,
    f"""
    CREATE TRIGGER mailings_recipient_tally_delete AFTER DELETE ON {ROWS}
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION mailings_recipient_tally_delete()
    """,
]
POSTGRESQL_DROP = [
    f"DROP TRIGGER IF EXISTS mailings_recipient_tally_{kind} ON {ROWS}"
    for kind in ("insert", "update", "delete")
] + [
    f"DROP FUNCTION IF EXISTS mailings_recipient_tally_{kind}()"
    for kind in ("insert", "update", "delete")
]

BACKFILL = (
    f"INSERT INTO {TALLY} (mailing_id, status, n) "  # noqa: S608 - our own table names
    f"SELECT mailing_id, status, count(*) FROM {ROWS} GROUP BY mailing_id, status"
)


def triggers_create(apps, schema_editor):
    # SQLite (the embedded default: drives of thousands) counts a drive's rows
    # directly; only PostgreSQL keeps the ledger.
    if schema_editor.connection.vendor != "postgresql":
        return
    # The drives already there, counted once; the triggers keep it from here on (the
    # migration's transaction holds both).
    schema_editor.execute(BACKFILL)
    for statement in POSTGRESQL:
        schema_editor.execute(statement)


def triggers_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in POSTGRESQL_DROP:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0009_fewer_contact_indexes"),
        ("mailings", "0008_recipient_partial_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="RecipientTally",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("mailing_id", models.BigIntegerField()),
                ("status", models.CharField(max_length=12)),
                ("n", models.BigIntegerField()),
            ],
        ),
        migrations.AddIndex(
            model_name="recipient",
            index=models.Index(
                condition=models.Q(("status", "sent")),
                fields=["mailing", "sent_at"],
                name="recipient_sent_at",
            ),
        ),
        migrations.AddIndex(
            model_name="recipienttally",
            index=models.Index(fields=["mailing_id", "status"], name="recipient_tally_drive"),
        ),
        migrations.RunPython(triggers_create, triggers_drop),
    ]
