"""Trigram indexes for the stay search on PostgreSQL (issue #15).

The dashboard's search is `UPPER(column) LIKE UPPER('%word%')` on four columns (Django's
`icontains`); a B-tree can't serve a pattern with a leading wildcard, so at 10,000 stays a
search that matches little read every stay of the host (~25 ms). A GIN index with pg_trgm's
operator class on the same UPPER() expression serves it. pg_trgm ships with PostgreSQL and is a
trusted extension (13+), so the database's owner may create it. SQLite has neither and needs
neither: the migration does nothing there.
"""

from django.db import migrations

COLUMNS = ("guest_name", "reservation_code", "external_id", "guest_email")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS reservation_{column}_trgm "
            f"ON reservations_reservation USING gin (UPPER({column}) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS reservation_{column}_trgm")


class Migration(migrations.Migration):
    dependencies = [
        ("reservations", "0005_reservation_guest_language"),
    ]

    operations = [migrations.RunPython(create, drop)]
