"""Compile locale/*/LC_MESSAGES/django.po to .mo in Python (no system gettext needed).

The compiled .mo files are committed; run this after editing a .po file.
`tests/guests/test_translations.py` fails when a .mo does not match its .po.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand


def catalogs() -> list[Path]:
    return sorted(
        path for root in settings.LOCALE_PATHS for path in Path(root).glob("*/LC_MESSAGES/*.po")
    )


class Command(BaseCommand):
    help = "Compile the project's .po files to .mo with polib."

    def handle(self, *args, **options) -> None:
        import polib  # type: ignore[import-untyped]  # dev dependency, no stubs; only for .po edits

        for po_path in catalogs():
            po = polib.pofile(str(po_path))
            po.metadata_is_fuzzy = False
            po.save_as_mofile(str(po_path.with_suffix(".mo")))
            self.stdout.write(f"compiled {po_path}")
