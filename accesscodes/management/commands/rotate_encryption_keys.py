"""Re-encrypt every encrypted column with the first key of FIELD_ENCRYPTION_KEY."""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from locksync.fields import EncryptedJSONField, EncryptedTextField, rotate_text


class Command(BaseCommand):
    help = (
        "Re-encrypt PINs and vendor credentials with the newest key. Put the new key first in "
        "FIELD_ENCRYPTION_KEY (keeping the old ones), run this, then remove the old keys."
    )

    def handle(self, *args, **options) -> None:
        quote = connection.ops.quote_name
        for model in apps.get_models():
            columns = [
                field.column
                for field in model._meta.concrete_fields
                if isinstance(field, EncryptedTextField | EncryptedJSONField)
            ]
            if not columns:
                continue
            table = quote(model._meta.db_table)
            rows = 0
            with transaction.atomic(), connection.cursor() as cursor:
                for column in columns:
                    cursor.execute(
                        f"SELECT id, {quote(column)} FROM {table} "  # noqa: S608
                        f"WHERE {quote(column)} IS NOT NULL"
                    )
                    for pk, token in cursor.fetchall():
                        cursor.execute(
                            f"UPDATE {table} SET {quote(column)} = %s WHERE id = %s",  # noqa: S608
                            [rotate_text(token), pk],
                        )
                        rows += 1
            self.stdout.write(f"{model._meta.label}: {rows} values re-encrypted")
