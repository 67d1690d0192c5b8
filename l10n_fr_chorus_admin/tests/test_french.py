"""What a French user sees of the add-on is in French: its screens, e-mails,
mandate form and portal pages, and what its scheduled actions write (in the
language of the people who read it, not in the scheduled action's English)."""

import re
from datetime import date, timedelta

from lxml import etree, html

from odoo import fields
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged
from odoo.tools import mute_logger
from odoo.tools.safe_eval import safe_eval
from odoo.tools.translate import TranslationModuleReader

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon

from ..chorus_pro.validation import TERM_LABELS, RuleFailure, ValidationResult
from ..tools.en16931_terms import EN16931_TERMS
from .common import TOWN_HALL_SIRET, UNKNOWN_SIRET
from .mandate_common import PDF_BYTES, MandateCase
from .test_followup import ChorusFollowupCase
from .test_public_partner import CLIENT_LOGGERS

MODULE = "l10n_fr_chorus_admin"
FRENCH = "fr_FR"
#: View attributes a user reads.
ATTRIBUTES = ("string", "help", "placeholder", "title", "confirm", "sum")
#: Terms of the add-on that are the same in French, and why.
SAME_IN_FRENCH = {
    "Chorus Pro": "the platform's name",
    "Production": "the same word in French (the production environment)",
    "Qualification": "the same word in French (Chorus Pro's test platform)",
    "Qualification (tests)": "the same words in French",
    "Services": "the same word in French",
    "Service": "the same word in French",
    "Documents": "the same word in French",
    "Format": "the same word in French",
    "Date": "the same word in French",
    "Description": "the same word in French",
    "Note": "the same word in French",
    "Contact": "the same word in French",
    "Taxes": "the same word in French",
    "ID": "an abbreviation used in French too",
    "SIRET": "the French establishment number",
    "IBAN": "an international code",
    "BIC": "an international code",
    "https://api.piste.gouv.fr": "an address",
    "UBL BIS Billing 3.0.12": "the name of a standard",
    "Factur-x/XRechnung CII 2.2.0": "the name of a standard",
    "Hébergement infogéré (mensuel)": "demo data of a French company",
    # French words quoted in English texts.
    "numéro d'engagement juridique": "the French name, quoted in English",
    "Raccordements EDI et API": "the name of a Chorus Pro menu",
}


def install_french(env):
    """French active, with the add-on's translations (those of Odoo's own
    modules are not needed: only the add-on's terms are checked)."""
    env["res.lang"]._activate_lang(FRENCH)
    env["ir.module.module"]._load_module_terms([MODULE], [FRENCH])


def module_terms(env):
    """Every term the add-on defines (code, views, data, reports)."""
    return {
        source.strip()
        for module, _type, _name, _res_id, source, _value, _comments in (
            TranslationModuleReader(env.cr, modules=[MODULE])
        )
        if module == MODULE and source.strip()
    }


def english_fragments(term):
    """The English words of a term of a template (its markup and the values
    it prints removed): runs of at least two words, to look for in a French
    rendering."""
    text = re.sub(r"<[^>]+>", "\n", term)
    fragments = []
    for chunk in re.split(r"[\n:;,.()“”\"]+", text):
        chunk = " ".join(chunk.split())
        if len(re.findall(r"[A-Za-z]{2,}", chunk)) >= 2:
            fragments.append(chunk)
    return fragments


def visible_text(markup):
    """The text of an HTML document or fragment, spaces normalised."""
    if not markup or not str(markup).strip():
        return ""
    tree = html.fromstring(str(markup))
    for node in tree.xpath("//script|//style"):
        node.drop_tree()
    return " ".join(tree.text_content().split())


@tagged("post_install", "-at_install")
class TestFrenchScreens(TransactionCase):
    """Every label, help, placeholder, selection value and button the add-on
    defines, rendered in French, differs from its English source unless it is
    the same in French by nature (SAME_IN_FRENCH says why)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        install_french(cls.env)
        # Odoo's own French too (3 s): the screens mix the add-on's terms with
        # Odoo's, some of them the same words ("Company"...).
        modules = cls.env["ir.module.module"].search([("state", "=", "installed")])
        cls.env["ir.module.module"]._load_module_terms(modules.mapped("name"), [FRENCH])
        cls.terms = module_terms(cls.env)

    def untranslated(self, english, french):
        """Terms of the add-on left as they are in the French value."""
        english = " ".join((english or "").split())
        french = " ".join((french or "").split())
        if english in self.terms and english == french:
            if english not in SAME_IN_FRENCH:
                return [english]
        return []

    def compare_arch(self, english, french, where, problems):
        for attribute in ATTRIBUTES:
            for term in self.untranslated(
                english.get(attribute), french.get(attribute)
            ):
                problems.append(f"{where}: {attribute}={term!r}")
        for part in ("text", "tail"):
            for term in self.untranslated(
                getattr(english, part), getattr(french, part)
            ):
                problems.append(f"{where}: {term!r}")
        self.assertEqual(len(english), len(french), f"{where}: same structure")
        for child_en, child_fr in zip(english, french, strict=True):
            if isinstance(child_en.tag, str):
                self.compare_arch(child_en, child_fr, where, problems)

    def compare_fields(self, english, french, where, problems):
        for name, description in english.items():
            other = french[name]
            for key in ("string", "help"):
                for term in self.untranslated(description.get(key), other.get(key)):
                    problems.append(f"{where}.{name} {key}: {term!r}")
            for (_value, label), (_value_fr, label_fr) in zip(
                description.get("selection") or [],
                other.get("selection") or [],
                strict=True,
            ):
                for term in self.untranslated(label, label_fr):
                    problems.append(f"{where}.{name} selection: {term!r}")

    def test_views_rendered_in_french(self):
        """Each screen the add-on adds or changes, as the web client gets it
        (get_views), in English and in French."""
        views = self.env["ir.ui.view"].browse(
            self.env["ir.model.data"]
            .search([("module", "=", MODULE), ("model", "=", "ir.ui.view")])
            .mapped("res_id")
        )
        screens = set()
        for view in views.filtered(lambda v: v.type != "qweb"):
            root = view
            while root.mode == "extension" and root.inherit_id:
                root = root.inherit_id
            screens.add((root.model, root.id, root.type))
        self.assertGreater(len(screens), 15)
        problems = []
        for model, view_id, view_type in sorted(screens):
            Model = self.env[model]
            english = Model.with_context(lang="en_US").get_views([(view_id, view_type)])
            french = Model.with_context(lang=FRENCH).get_views([(view_id, view_type)])
            where = f"{model} {view_type} {view_id}"
            self.compare_arch(
                etree.fromstring(english["views"][view_type]["arch"]),
                etree.fromstring(french["views"][view_type]["arch"]),
                where,
                problems,
            )
            for name, description in english["models"].items():
                self.compare_fields(
                    description["fields"],
                    french["models"][name]["fields"],
                    f"{where} {name}",
                    problems,
                )
        self.assertFalse(problems, "English on French screens:\n" + "\n".join(problems))

    def test_every_field_selection_menu_and_action_in_french(self):
        """What the add-on defines outside its views too: every field's label
        and help, every selection value (the Chorus Pro statuses included),
        menus, actions, scheduled actions and activity types."""
        data = self.env["ir.model.data"].search([("module", "=", MODULE)])
        checked = {
            "ir.model.fields": ("field_description", "help"),
            "ir.model.fields.selection": ("name",),
            "ir.ui.menu": ("name",),
            "ir.actions.act_window": ("name", "help"),
            "ir.actions.report": ("name",),
            # A scheduled action shows its server action's name (Odoo keeps
            # the cron's own name in English).
            "ir.actions.server": ("name",),
            "mail.activity.type": ("name", "summary"),
            "mail.template": ("name", "description"),
            "payment.method": ("name",),
            "payment.provider": ("name", "pre_msg", "pending_msg"),
            "res.groups": ("name", "comment"),
            "ir.module.category": ("name", "description"),
        }
        problems = []
        count = 0
        for model, names in checked.items():
            records = self.env[model].browse(
                data.filtered(lambda d, model=model: d.model == model).mapped("res_id")
            )
            for record in records:
                for name in names:
                    english = record.with_context(lang="en_US")[name]
                    french = record.with_context(lang=FRENCH)[name]
                    english, french = str(english or ""), str(french or "")
                    if not english:
                        continue
                    count += 1
                    if record._fields[name].type == "html":
                        english, french = visible_text(english), visible_text(french)
                        if english == french and english:
                            problems.append(f"{model} {record.id} {name}: {english!r}")
                        continue
                    for term in self.untranslated(english, french):
                        problems.append(f"{model} {record.id} {name}: {term!r}")
        self.assertGreater(count, 300)
        self.assertFalse(problems, "English left in French:\n" + "\n".join(problems))

    def test_chorus_pro_statuses_in_french(self):
        """The Chorus Pro status labels keep Chorus Pro's own codes, in French
        words around them."""
        labels = dict(
            self.env["account.move"]
            .with_context(lang=FRENCH)
            ._fields["chorus_status"]
            ._description_selection(self.env(context={"lang": FRENCH}))
        )
        self.assertEqual(
            labels["MISE_EN_PAIEMENT"], "Mise en paiement (MISE_EN_PAIEMENT)"
        )
        self.assertEqual(labels["A_RECYCLER"], "À recycler (A_RECYCLER)")
        self.assertEqual(labels["SUSPENDUE"], "Suspendue (SUSPENDUE)")
        states = dict(
            self.env["account.move"]
            ._fields["chorus_state"]
            ._description_selection(self.env(context={"lang": FRENCH}))
        )
        # An invoice ("facture") is feminine; a flow has its own labels.
        self.assertEqual(states["integrated"], "Intégrée")
        self.assertEqual(states["rejected"], "Rejetée")
        flows = dict(
            self.env["chorus.pro.deposit"]
            ._fields["state"]
            ._description_selection(self.env(context={"lang": FRENCH}))
        )
        self.assertEqual(flows["integrated"], "Flux intégré")

    def test_document_validation_names_the_field_in_french(self):
        """A document failing an EN 16931 rule says which field, in French
        (the rule's own text is the standard's, quoted)."""
        self.assertEqual(
            {term: label._source for term, label in EN16931_TERMS.items()},
            TERM_LABELS,
            "the translatable labels are those of the validator",
        )
        result = ValidationResult(label="FAC/2026/00001", syntax="IN_DP_E1_UBL_INVOICE")
        result.en16931.append(
            RuleFailure(
                rule="BR-CO-15",
                flag="fatal",
                location="/Invoice",
                message="Invoice total amount with VAT (BT-112) = ...",
                field=TERM_LABELS["BT-112"],
                term="BT-112",
            )
        )
        message, what_to_do = (
            self.env["account.move"]
            .with_context(lang=FRENCH)
            ._chorus_validation_messages(result)
        )
        self.assertTrue(what_to_do.startswith("Corrigez "), what_to_do)
        self.assertTrue(
            message.startswith(
                "Règle EN 16931 BR-CO-15 non respectée (Montant total de la "
                "facture TVA comprise) ; texte de la règle : "
            ),
            message,
        )


@tagged("post_install", "-at_install")
class TestFrenchDocuments(MandateCase):
    """The e-mails and the mandate form a French customer or user receives."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        install_french(cls.env)
        cls.town_hall.lang = FRENCH

    def assertNoEnglish(self, english_source, french_text, where):
        """No run of English words of ``english_source`` (a template's source)
        in ``french_text``."""
        fragments = [
            fragment
            for fragment in english_fragments(english_source)
            if fragment not in SAME_IN_FRENCH
        ]
        self.assertTrue(fragments, f"{where}: the source has English words")
        left = [fragment for fragment in fragments if fragment in french_text]
        self.assertEqual(left, [], f"English in {where}")

    def render(self, template, record, lang):
        values = template.with_context(lang=lang)._generate_template(
            record.ids, ("subject", "body_html")
        )[record.id]
        return values["subject"], visible_text(values["body_html"])

    def test_mandate_emails_in_the_customer_language(self):
        order = self.make_received_order()
        order._chorus_mandate_refuse("Il manque le numéro d'engagement.")
        for xmlid, subject_fr, body_fr in (
            (
                "mail_template_chorus_mandate_request",
                "mandat administratif pour la commande",
                "Merci pour votre commande",
            ),
            (
                "mail_template_chorus_mandate_refused",
                "ne peut pas être accepté",
                "Nous ne pouvons pas accepter le mandat administratif",
            ),
        ):
            with self.subTest(template=xmlid):
                template = self.env.ref(f"{MODULE}.{xmlid}")
                # The template's language is the customer's.
                subject, body = self.render(template, order, "en_US")
                self.assertIn(subject_fr, subject)
                self.assertIn(body_fr, body)
                source = template.with_context(lang="en_US")
                self.assertNoEnglish(source.body_html, body, f"{xmlid} body")
                self.assertNoEnglish(source.subject, subject, f"{xmlid} subject")

    def test_password_expiry_reminder_in_each_user_language(self):
        french = new_test_user(
            self.env, "h1_admin_fr", "base.group_system", lang=FRENCH, email="fr@x.fr"
        )
        english = new_test_user(
            self.env, "h1_admin_en", "base.group_system", lang="en_US", email="en@x.fr"
        )
        # As the scheduled action runs: no language of its own, its user's day.
        cron_env = self.env(user=self.env.ref("base.user_root"), context={})
        self.company.write(
            {
                "chorus_password_expiry_date": fields.Date.context_today(
                    cron_env["res.company"]
                )
                + timedelta(days=15),
                "chorus_expiry_reminder_user_ids": [(6, 0, (french | english).ids)],
            }
        )
        before = self.env["mail.mail"].search([])
        cron_env["res.company"]._cron_chorus_password_expiry_reminder()
        mails = self.env["mail.mail"].search([]) - before
        by_user = {mail.recipient_ids: mail for mail in mails}
        to_french = by_user[french.partner_id]
        self.assertIn("le mot de passe technique", to_french.subject)
        self.assertIn("Bonjour", to_french.body_html)
        template = self.env.ref(f"{MODULE}.mail_template_chorus_password_expiry")
        self.assertNoEnglish(
            template.with_context(lang="en_US").body_html,
            visible_text(to_french.body_html),
            "the expiry reminder",
        )
        self.assertIn("expires on", by_user[english.partner_id].subject)

    def test_mandate_form_in_the_customer_language(self):
        order = self.make_order()
        report = self.env.ref(f"{MODULE}.action_report_chorus_mandate")
        content, _type = (
            self.env["ir.actions.report"]
            .with_context(lang="en_US")
            ._render_qweb_html(report.report_name, order.ids)
        )
        text = visible_text(content.decode())
        self.assertIn("Mandat administratif — commande", text)
        self.assertIn("Engagement juridique (à compléter par l'acheteur)", text)
        template = self.env.ref(f"{MODULE}.report_chorus_mandate_document")
        self.assertNoEnglish(
            template.with_context(lang="en_US").arch_db, text, "the mandate form"
        )
        # Its file name too, whoever prints it.
        self.assertEqual(
            safe_eval(
                report.with_context(lang="en_US").print_report_name, {"object": order}
            ),
            f"Mandat administratif - {order.name}",
        )


@tagged("post_install", "-at_install")
class TestFrenchPortal(AccountTestInvoicingHttpCommon, HttpCase):
    """A French buyer's portal pages: its invoices with their Chorus Pro state,
    an order's administrative mandate section."""

    @classmethod
    @AccountTestInvoicingHttpCommon.setup_country("fr")
    def setUpClass(cls):
        super().setUpClass()
        install_french(cls.env)
        cls.town_hall = cls.env["res.partner"].create(
            {
                "name": "Mairie de Démoville",
                "is_company": True,
                "siret": TOWN_HALL_SIRET,
                "chorus_is_public": True,
                "chorus_buyer_category": "local",
            }
        )
        contact = cls.env["res.partner"].create(
            {"name": "Paul Acheteur", "parent_id": cls.town_hall.id, "lang": FRENCH}
        )
        cls.buyer = new_test_user(
            cls.env,
            "h1_portal_fr",
            groups="base.group_portal",
            partner_id=contact.id,
            password="h1_portal_fr",
            lang=FRENCH,
        )
        cls.invoice = cls.init_invoice(
            "out_invoice", partner=cls.town_hall, amounts=[1000.0], post=True
        )
        cls.invoice.write(
            {
                "chorus_state": "suspended",
                "chorus_status": "SUSPENDUE",
                "chorus_available_date": date(2026, 3, 2),
                "chorus_legal_due_date": date(2026, 4, 1),
            }
        )
        cls.order = cls.env["sale.order"].create(
            {
                "partner_id": cls.town_hall.id,
                "order_line": [(0, 0, {"product_id": cls.product_a.id})],
            }
        )
        cls.order.write({"state": "sent", "chorus_mandate_state": "refused"})
        cls.order.chorus_mandate_refusal_reason = "Signature manquante."
        cls.order.message_subscribe(contact.ids)

    def page(self, url):
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200, url)
        return visible_text(response.text)

    def assertNoEnglish(self, template_xmlid, text):
        source = self.env.ref(template_xmlid).with_context(lang="en_US").arch_db
        left = [
            fragment
            for fragment in english_fragments(source)
            if fragment in text and fragment not in SAME_IN_FRENCH
        ]
        self.assertEqual(left, [], f"English of {template_xmlid}")

    def test_portal_pages_in_french(self):
        self.authenticate("h1_portal_fr", "h1_portal_fr")
        invoices = self.page("/my/invoices")
        self.assertIn("Suspendue", invoices)
        self.assertIn("Échéance légale : 01/04/2026", invoices)
        self.assertNoEnglish(f"{MODULE}.portal_my_invoices_chorus", invoices)
        invoice = self.page(f"/my/invoices/{self.invoice.id}")
        self.assertIn("Suspendue (SUSPENDUE)", invoice)
        self.assertIn("mise à disposition le 02/03/2026", invoice)
        self.assertNoEnglish(f"{MODULE}.portal_invoice_page_chorus", invoice)
        order = self.page(f"/my/orders/{self.order.id}")
        self.assertIn("Votre mandat n'a pas pu être accepté", order)
        self.assertIn("Télécharger le formulaire de mandat", order)
        self.assertNoEnglish(f"{MODULE}.sale_order_portal_chorus_mandate", order)


@tagged("post_install", "-at_install")
class TestWrittenForTheReaders(ChorusFollowupCase, MandateCase):
    """Scheduled actions run without a language of their own: what they write
    on an invoice is in the language of its salesperson (or of its company),
    not in their user's English."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        install_french(cls.env)
        cls.company.partner_id.lang = FRENCH
        cls.claire = new_test_user(
            cls.env,
            "h1_claire",
            "account.group_account_invoice",
            lang=FRENCH,
            company_id=cls.company.id,
            company_ids=cls.company.ids,
        )
        cls.john = new_test_user(
            cls.env,
            "h1_john",
            "account.group_account_invoice",
            lang="en_US",
            company_id=cls.company.id,
            company_ids=cls.company.ids,
        )

    def setUp(self):
        super().setUp()
        # What a scheduled action gets: an empty context (tracking on), a user
        # reading English. (Not OdooBot's superuser here: it would also follow
        # the demo company's invoices, on the demo's Chorus Pro address.)
        self.env.user.lang = "en_US"
        self.cron_env = self.env(context={})

    def commit_tracking(self):
        """What the end of a transaction does: the tracking messages."""
        self.env.flush_all()
        self.env.cr.precommit.run()

    def tracked_states(self, move):
        values = self.env["mail.tracking.value"].search(
            [
                ("mail_message_id.model", "=", "account.move"),
                ("mail_message_id.res_id", "=", move.id),
                ("field_id.name", "=", "chorus_state"),
            ]
        )
        return set(values.mapped("new_value_char"))

    def test_followup_writes_in_the_salesperson_language(self):
        french = self.integrated_invoice(invoice_user_id=self.claire.id)
        english = self.integrated_invoice(invoice_user_id=self.john.id)
        self.commit_tracking()
        for move in french | english:
            self.advance(move, "SUSPENDUE", comment="Le PV de recette manque.")
        self.company.chorus_followup_sync_date = False
        self.cron_env["account.move"]._cron_chorus_followup()
        self.commit_tracking()

        self.assertLogged(french, "Statut Chorus Pro : ")
        self.assertLogged(french, "Suspendue (SUSPENDUE)")
        activity = self.activity(french, "Chorus Pro : facture suspendue")
        self.assertIn("Le PV de recette manque. Marche à suivre", str(activity.note))
        self.assertIn("Suspendue", self.tracked_states(french))

        self.assertLogged(english, "Chorus Pro status: ")
        self.activity(english, "Chorus Pro: invoice suspended")
        self.assertIn("Suspended", self.tracked_states(english))

        # Completed by an accountant reading English: the French activity is
        # done all the same.
        wizard = (
            self.env["chorus.pro.complete.wizard"]
            .with_user(self.john)
            .with_context(lang="en_US")
            .create({"move_id": french.id, "comment": "Voici le PV."})
        )
        wizard.action_complete()
        self.assertFalse(french.activity_ids)
        self.assertLogged(french, "Completed on Chorus Pro")

    def test_sending_writes_in_the_salesperson_language(self):
        move = self.make_invoice(invoice_user_id=self.claire.id, buyer_reference=False)
        self.commit_tracking()
        self.cron_env["account.move"]._cron_chorus_send()
        self.commit_tracking()
        self.assertEqual(move.chorus_state, "error")
        self.assertIn("exige un code service sur chaque facture", move.chorus_error)
        self.assertIn("« Service exécutant »", move.chorus_error)
        self.activity(move, "Chorus Pro : facture non envoyée")
        self.assertIn("Erreur", self.tracked_states(move))

    def test_sending_without_configuration_says_so_in_french(self):
        move = self.make_invoice(invoice_user_id=self.claire.id)
        self.company.chorus_qualification_password = False
        self.cron_env["account.move"]._cron_chorus_send()
        self.assertEqual(move.chorus_state, "error")
        self.assertIn("Chorus Pro n'est pas configuré", move.chorus_error)
        self.assertIn("mot de passe du compte technique", move.chorus_error)
        self.assertIn("Qualification (tests)", move.chorus_error)

    def test_chorus_pro_down_in_french(self):
        move = self.make_invoice(invoice_user_id=self.claire.id)
        deposit = "/cpro/factures/v1/deposer/flux"
        self.sandbox_admin(
            "faults", {"error_429": 1.0, "retry_after": 0, "paths": [deposit]}
        )
        with mute_logger(*CLIENT_LOGGERS):
            self.cron_env["account.move"]._cron_chorus_send()
        self.assertEqual(move.chorus_state, "to_send")
        self.assertIn("Chorus Pro est injoignable pour le moment", move.chorus_error)
        self.assertIn("(HTTP 429)", move.chorus_error)
        self.assertIn("renvoyée automatiquement", move.chorus_error)
        # A server error on the deposit: its outcome is unknown.
        self.sandbox_admin("faults", {"error_500": 1.0, "paths": [deposit]})
        move.chorus_next_attempt = False
        with mute_logger(*CLIENT_LOGGERS):
            self.cron_env["account.move"]._cron_chorus_send()
        self.assertEqual(move.chorus_state, "unknown")
        self.assertIn(
            "La réponse de Chorus Pro au dépôt a été perdue", move.chorus_error
        )
        self.assertIn("HTTP 500", move.chorus_deposit_id.error)

    def test_public_customer_refresh_writes_in_french(self):
        partner = self.make_public_partner(UNKNOWN_SIRET, user_id=self.claire.id)
        self.cron_env["res.partner"]._cron_chorus_sync_public_partners()
        self.assertIn("Aucune structure ne porte le SIRET", partner.chorus_sync_error)
        self.assertIn(
            "Échec de la synchronisation avec Chorus Pro",
            str(partner.message_ids[0].body),
        )

    def test_signed_form_from_an_english_buyer_asks_in_french(self):
        self.salesman.lang = FRENCH
        order = self.make_order()
        order._chorus_send_mandate_request()
        order.with_context(lang="en_US")._chorus_mandate_receive(
            "mandat-signe.pdf", PDF_BYTES
        )
        activity = order.activity_ids
        self.assertEqual(activity.user_id, self.salesman)
        self.assertEqual(
            activity.summary,
            "Formulaire de mandat signé reçu : approuvez-le ou refusez-le",
        )
        self.assertIn("Vérifiez le formulaire signé", str(activity.note))
