"""Bulk loading for the benchmarks: rows in as fast as the database takes them."""

from __future__ import annotations

from django.db import connection


def insert_rows(model, rows: list[dict]) -> None:
    """Insert rows given as {attname: value}, ids included.

    On PostgreSQL through COPY: preparing each value through the ORM costs about 1 ms a row on
    this machine, an hour for a million reservations; COPY takes the values as they are.
    """
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], batch_size=1000)
        return
    fields = model._meta.concrete_fields
    defaults = {field.attname: field.get_default() for field in fields}
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    copy_sql = f"COPY {model._meta.db_table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
        for row in rows:
            copy.write_row([row.get(f.attname, defaults[f.attname]) for f in fields])


def reset_sequences(*models) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT MAX(id) FROM {table}))"
            )
