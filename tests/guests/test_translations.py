"""Guest-facing text in English, German, French, Spanish, Italian and Portuguese (rule K4).

The compiled .mo files are committed (a fresh machine has no system gettext); these tests fail
when one does not match its .po (run `manage.py compile_translations`).
"""

import gettext
import io
from pathlib import Path

import polib
import pytest
from django.conf import settings

from guests.management.commands.compile_translations import catalogs
from messaging.models import ScheduledMessage
from messaging.services import FOLLOW_UP_TEMPLATES, _template

LANGUAGES = ["de", "en", "es", "fr", "it", "pt"]


def test_every_guest_language_has_a_catalog():  # rule K4
    assert sorted(path.parts[-3] for path in catalogs()) == LANGUAGES
    assert sorted(code for code, _ in settings.LANGUAGES) == LANGUAGES


@pytest.mark.parametrize("po_path", catalogs(), ids=lambda p: p.parts[-3])
def test_compiled_catalog_matches_its_po_file(po_path: Path):
    po = polib.pofile(str(po_path))
    po.metadata_is_fuzzy = False
    expected = gettext.GNUTranslations(io.BytesIO(po.to_binary()))
    with po_path.with_suffix(".mo").open("rb") as compiled:
        actual = gettext.GNUTranslations(compiled)
    assert actual._catalog == expected._catalog


@pytest.mark.parametrize("po_path", catalogs(), ids=lambda p: p.parts[-3])
def test_every_text_is_translated_and_keeps_its_placeholders(po_path: Path):  # rule K4
    po = polib.pofile(str(po_path))
    assert po.untranslated_entries() == [] and po.fuzzy_entries() == []
    for entry in po:
        for placeholder in ("%(name)s", "%(zone)s", "%(when)s", "%(lock)s"):
            assert (placeholder in entry.msgid) == (placeholder in entry.msgstr), entry.msgid
        for shortcode in ("%smartlock_code%", "%guest_first_name%", "%property_name%"):
            assert (shortcode in entry.msgid) == (shortcode in entry.msgstr), entry.msgid


def test_locksyncs_own_guest_messages_are_in_the_catalogs():  # rule K4
    msgids = {entry.msgid for entry in polib.pofile(str(catalogs()[0]))}
    for subject, body in FOLLOW_UP_TEMPLATES.values():
        assert subject in msgids and body in msgids


@pytest.mark.django_db
def test_backup_code_message_goes_out_in_the_stays_language():  # rule K4
    from tests.factories import ReservationFactory

    reservation = ReservationFactory(language="de")
    scheduled = ScheduledMessage(reservation=reservation, kind=ScheduledMessage.Kind.BACKUP_CODE)
    subject, body, _ = _template(scheduled)
    assert subject == "Ihr Türcode für %property_name%"
    assert "%smartlock_code%" in body and "Hallo %guest_first_name%" in body
    reservation.language = ""
    subject, _, _ = _template(scheduled)
    assert subject == "Your door code for %property_name%"
