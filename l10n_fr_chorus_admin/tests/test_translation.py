from pathlib import Path

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader

MODULE = "l10n_fr_chorus_admin"
FRENCH = Path(__file__).resolve().parent.parent / "i18n" / "fr.po"


@tagged("post_install", "-at_install")
class TestFrenchTranslation(TransactionCase):
    def test_every_term_has_a_french_translation(self):
        """Every term the module shows (code, views, data, reports) exists in
        i18n/fr.po with a translation; run Odoo's export to find new ones."""
        terms = {
            source
            for module, _type, _name, _res_id, source, _value, _comments in (
                TranslationModuleReader(self.env.cr, modules=[MODULE])
            )
            if module == MODULE and source.strip()
        }
        translated = {
            entry.msgid
            for entry in polib.pofile(str(FRENCH))
            if entry.msgstr and not entry.obsolete
        }
        self.assertGreater(len(terms), 100)
        missing = sorted(terms - translated)
        self.assertEqual(missing, [], "terms without French translation")
