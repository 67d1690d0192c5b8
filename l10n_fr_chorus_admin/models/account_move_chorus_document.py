"""The invoice documents deposited on Chorus Pro.

One entry point, :meth:`AccountMove._chorus_build_document`, turns a posted
customer invoice or credit note into the file of one Chorus Pro flow syntax:

- ``IN_DP_E1_CII_16B``: the UN/CEFACT CII XML of Odoo's Factur-X builder
  (``account.edi.xml.cii``);
- ``IN_DP_E1_UBL_INVOICE``: the UBL 2.1 Invoice or CreditNote of Odoo's
  ``account.edi.xml.ubl_bis3`` builder;
- ``IN_DP_E2_CII_FACTURX``: the invoice PDF (Odoo's invoice report) turned into
  a PDF/A-3 with that CII embedded as ``factur-x.xml``.

The builders themselves are extended in ``account_edi_xml_cii_facturx.py`` and
``account_edi_xml_ubl_bis3.py``; this file computes, once, the Chorus Pro data
they place (:meth:`AccountMove._chorus_document_values`) and decides which
documents get them (:meth:`AccountMove._chorus_document_is_chorus`).
"""

import functools
import io
import logging
import re
import subprocess

from lxml import etree
from stdnum.fr import siret as stdnum_siret

from odoo import fields, models
from odoo.exceptions import UserError
from odoo.tools import float_repr
from odoo.tools.pdf import OdooPdfFileReader, OdooPdfFileWriter

from odoo.addons.base.models.ir_actions_report import _get_wkhtmltopdf_bin

from ..chorus_pro.constants import (
    ATTACHMENT_KIND_APPENDIX,
    ATTACHMENT_KINDS,
    ATTACHMENT_TYPES,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENT_NAME,
    SYNTAX_CII,
    SYNTAX_FACTURX,
    SYNTAX_UBL,
)

# The account.move extension below is kept apart from account_move.py on
# purpose: document building only, one entry point, and the supporting
# documents the document carries.
# pylint: disable=consider-merging-classes-inherited

_logger = logging.getLogger(__name__)

#: Context key that asks the EDI builders for the Chorus Pro version of a
#: document whoever the customer is (set by ``_chorus_build_document``).
CHORUS_DOCUMENT_CONTEXT = "chorus_pro_document"

#: Name of the CII embedded in a Factur-X PDF.
FACTURX_XML_NAME = "factur-x.xml"

#: ISO 6523 schemes of the French identifiers: the SIREN (9 digits, company)
#: and the SIRET (14 digits, establishment). The SIRET is also the electronic
#: address (BT-34, BT-49) that Chorus Pro routes on (EAS code 0009).
SCHEME_SIREN = "0002"
SCHEME_SIRET = "0009"

#: Billing framework (BT-23, "cadre de facturation") of a plain invoice or
#: credit note deposited by its supplier, by the kind of what is invoiced, from
#: the French CTC code list (rule BR-FR-08).
BILLING_FRAMEWORK_GOODS = "B1"
BILLING_FRAMEWORK_SERVICES = "S1"
BILLING_FRAMEWORK_MIXED = "M1"

#: File name suffix of each syntax, and the builder that writes its XML.
SYNTAX_SUFFIXES = {
    SYNTAX_CII: "_cii.xml",
    SYNTAX_UBL: "_ubl.xml",
    SYNTAX_FACTURX: "_facturx.pdf",
}
SYNTAX_BUILDERS = {
    SYNTAX_CII: "account.edi.xml.cii",
    SYNTAX_UBL: "account.edi.xml.ubl_bis3",
    SYNTAX_FACTURX: "account.edi.xml.cii",
}

# The mentions French law requires on an invoice to a public buyer, in French
# whatever the customer's language (subject codes of UNTDID 4451).
NOTE_LATE_PAYMENT = (  # PMD
    "En cas de retard de paiement, des intérêts moratoires courent de plein droit "
    "à compter du lendemain de l'expiration du délai de paiement, au taux de la "
    "Banque centrale européenne pour ses opérations principales de "
    "refinancement en vigueur au premier jour du semestre au cours duquel ils ont "
    "commencé à courir, majoré de huit points (articles L. 2192-13 et R. 2192-31 "
    "du code de la commande publique)."
)
NOTE_RECOVERY_INDEMNITY = (  # PMT
    "Tout retard de paiement rend de plein droit exigible une indemnité "
    "forfaitaire pour frais de recouvrement de 40 euros (articles L. 2192-13 et "
    "D. 2192-35 du code de la commande publique)."
)
NOTE_NO_DISCOUNT = "Aucun escompte n'est accordé pour paiement anticipé."  # AAB
NOTE_DISCOUNT = (  # AAB, with an early payment discount
    "Escompte de {percentage} % pour paiement sous {days} jours."
)

_UNSAFE_FILENAME_CHARACTERS = re.compile(r"[^A-Za-z0-9_-]+")


def clean_siret(value):
    """A SIRET without the spaces people type in it."""
    return re.sub(r"\s+", "", value or "")


def insert_in_order(parent, element, order):
    """Insert ``element`` among the children of ``parent`` where the sequence
    ``order`` (the tags the schema allows there, in its order) puts it."""
    followers = set(order[order.index(element.tag) + 1 :])
    for index, child in enumerate(parent):
        if child.tag in followers:
            parent.insert(index, element)
            return element
    parent.append(element)
    return element


def sub_element(parent, tag, text=None, nsmap=None, **attributes):
    """Append ``<tag attributes>text</tag>`` to ``parent`` and return it."""
    element = etree.SubElement(parent, tag, attributes, nsmap=nsmap)
    if text is not None:
        element.text = text
    return element


def attachment_file_name(name, extension):
    """``name`` shortened, if needed, to a supporting document name Chorus Pro
    accepts: at most 50 characters, ending with ``.extension``."""
    suffix = f".{extension}"
    stem = name[: -len(suffix)] if name.lower().endswith(suffix) else name
    return stem[: MAX_ATTACHMENT_NAME - len(suffix)].rstrip() + suffix


@functools.cache
def renders_several_documents():
    """Whether this server's wkhtmltopdf renders several documents in one run:
    the builds with a patched Qt (those Odoo recommends) do, the others, such
    as Debian's package, refuse more than one input document."""
    try:
        version = subprocess.run(
            [_get_wkhtmltopdf_bin(), "--version"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "patched qt" in version.lower()


class AccountMove(models.Model):
    _inherit = "account.move"

    chorus_attachment_ids = fields.Many2many(
        "ir.attachment",
        "account_move_chorus_attachment_rel",
        "move_id",
        "attachment_id",
        string="Supporting documents",
        copy=False,
        help="Files sent to Chorus Pro inside the invoice's document, for the "
        "buyer: the signed purchase order, a delivery note, a statement of work. "
        "PDF, PNG, JPEG, CSV, XLSX or ODS files of less than 10 MB, named in 50 "
        "characters at most.",
    )

    chorus_customer_is_public = fields.Boolean(
        related="commercial_partner_id.chorus_is_public"
    )

    # Entry point --------------------------------------------------------------

    def _chorus_build_document(self, syntax, pdf=None):
        """The file to deposit on Chorus Pro for this posted customer invoice or
        credit note, in the flow syntax ``syntax`` (``IN_DP_E1_CII_16B``,
        ``IN_DP_E1_UBL_INVOICE`` or ``IN_DP_E2_CII_FACTURX``).

        Sends nothing and writes nothing (no attachment, no message); only the
        Factur-X syntax renders the invoice PDF.

        :return: ``{"filename": str, "content": bytes, "xml": bytes,
            "syntax": str}``: ``content`` is what is deposited, ``xml`` the
            invoice XML to validate (the CII embedded in a Factur-X PDF, or the
            file itself), ``filename`` at most 50 safe characters with its
            extension.
        :param pdf: for Factur-X, the invoice PDF already rendered (see
            ``_chorus_render_pdfs``); rendered here when not given.
        :raises UserError: the move is not a posted customer invoice or credit
            note, or lacks what Chorus Pro needs (SIRETs, bank account...):
            the message lists every problem.
        """
        self.ensure_one()
        if syntax not in SYNTAX_BUILDERS:
            raise UserError(
                self.env._(
                    "Unknown Chorus Pro document syntax %(syntax)s: choose a "
                    "Chorus Pro document format in Settings > Invoicing > Chorus "
                    "Pro, or on "
                    "the customer.",
                    syntax=syntax,
                )
            )
        if self.state != "posted" or self.move_type not in (
            "out_invoice",
            "out_refund",
        ):
            raise UserError(
                self.env._(
                    "Only a posted customer invoice or credit note can be sent to "
                    "Chorus Pro; %(move)s is not one: confirm it first.",
                    move=self.display_name,
                )
            )
        move = self.with_context(**{CHORUS_DOCUMENT_CONTEXT: True})
        builder = self.env[SYNTAX_BUILDERS[syntax]].with_context(
            **{CHORUS_DOCUMENT_CONTEXT: True}
        )
        xml, errors = builder._export_invoice(move)
        if errors:
            raise UserError(
                self.env._(
                    "The Chorus Pro document of %(move)s cannot be built:\n"
                    "%(errors)s\nFill in what is listed, then click 'Send to "
                    "Chorus Pro'.",
                    move=self.display_name,
                    errors="\n".join(f"- {error}" for error in sorted(errors)),
                )
            )
        content = xml
        if syntax == SYNTAX_FACTURX:
            content = move._chorus_facturx_pdf(xml, pdf=pdf)
        return {
            "filename": self._chorus_document_filename(syntax),
            "content": content,
            "xml": xml,
            "syntax": syntax,
        }

    # What the builders ask ---------------------------------------------------

    def _chorus_document_is_chorus(self, builder):
        """Whether ``builder`` (an EDI builder model) writes the Chorus Pro
        version of this move's document: for customer invoices and credit notes
        of a Chorus Pro customer, or of anyone when ``_chorus_build_document``
        asks (the context key, on the builder or on the move)."""
        self.ensure_one()
        return self.move_type in ("out_invoice", "out_refund") and bool(
            builder.env.context.get(CHORUS_DOCUMENT_CONTEXT)
            or self.env.context.get(CHORUS_DOCUMENT_CONTEXT)
            or self.commercial_partner_id.chorus_is_public
        )

    def _chorus_document_values(self):
        """The Chorus Pro data of the document, for the builders to place."""
        self.ensure_one()
        seller = self.company_id.partner_id.commercial_partner_id
        buyer = self.commercial_partner_id
        seller_siret = clean_siret(self.company_id.siret)
        buyer_siret = clean_siret(buyer.siret)
        origin = self.reversed_entry_id if self.move_type == "out_refund" else None
        bank = self.partner_bank_id if self.move_type == "out_invoice" else None
        return {
            "seller": seller,
            "buyer": buyer,
            "seller_siret": seller_siret,
            "seller_siren": seller_siret[:9],
            "buyer_siret": buyer_siret,
            "buyer_siren": buyer_siret[:9],
            "service_code": (self.buyer_reference or "").strip(),
            "engagement": (self.purchase_order_reference or "").strip(),
            "contract": (self.contract_reference or "").strip(),
            "billing_framework": self._chorus_billing_framework(),
            "notes": self._chorus_document_notes(),
            "preceding_invoice": origin
            and origin.state == "posted"
            and {"name": origin.name, "date": origin.invoice_date},
            # Credit notes carry no payment means at all.
            "bank": bank,
            "bic": bank and bank.bank_id.bic,
            "attachments": [
                {
                    "name": attachment_file_name(
                        attachment.name or "",
                        ATTACHMENT_TYPES.get(attachment.mimetype, ("bin",))[0],
                    ),
                    # The attachment's description holds its kind when the
                    # add-on attached it (the signed mandate).
                    "description": attachment.description
                    if attachment.description in ATTACHMENT_KINDS
                    else ATTACHMENT_KIND_APPENDIX,
                    "mimetype": attachment.mimetype,
                    "raw": attachment.raw,
                }
                for attachment in self.chorus_attachment_ids.sorted("id")
            ],
        }

    def _chorus_attachment_errors(self):
        """What Chorus Pro would refuse in the supporting documents: their
        type and size (translated messages). Their names are made acceptable
        when the document is built."""
        self.ensure_one()
        errors = []
        accepted = ", ".join(
            extension.upper() for extension, *_others in ATTACHMENT_TYPES.values()
        )
        for attachment in self.chorus_attachment_ids:
            name = attachment.name or ""
            extensions = ATTACHMENT_TYPES.get(attachment.mimetype)
            if not extensions:
                errors.append(
                    self.env._(
                        "Chorus Pro does not accept the supporting document "
                        "%(name)s (%(type)s): remove it from the Chorus Pro tab "
                        "and attach it as a %(accepted)s file.",
                        name=name,
                        type=attachment.mimetype,
                        accepted=accepted,
                    )
                )
                continue
            if attachment.file_size >= MAX_ATTACHMENT_BYTES:
                errors.append(
                    self.env._(
                        "The supporting document %(name)s is too large for Chorus "
                        "Pro (%(size)s MB; less than 10 MB each): remove it from "
                        "the Chorus Pro tab and attach it compressed or split.",
                        name=name,
                        size=round(attachment.file_size / 1024 / 1024, 1),
                    )
                )
        return errors

    def _chorus_document_errors(self):
        """What prevents a valid Chorus Pro document: translated messages."""
        self.ensure_one()
        errors = []
        checks = (
            (
                self.company_id.siret,
                self.company_id.display_name,
                self.env._("Settings > Users & Companies > Companies"),
            ),
            (
                self.commercial_partner_id.siret,
                self.commercial_partner_id.display_name,
                self.env._("the customer's form"),
            ),
        )
        for siret, name, where in checks:
            if not siret:
                errors.append(
                    self.env._(
                        "The SIRET of %(partner)s is required by Chorus Pro: set "
                        "it in %(where)s.",
                        partner=name,
                        where=where,
                    )
                )
            elif not stdnum_siret.is_valid(clean_siret(siret)):
                errors.append(
                    self.env._(
                        "The SIRET %(siret)s of %(partner)s is not valid (a SIRET "
                        "has 14 digits and passes the Luhn check): correct it in "
                        "%(where)s.",
                        siret=siret,
                        partner=name,
                        where=where,
                    )
                )
        if self.move_type == "out_invoice":
            bank = self.partner_bank_id
            if not bank:
                errors.append(
                    self.env._(
                        "Set the Recipient Bank of %(move)s (Other Info tab): a "
                        "public buyer pays by credit transfer to the IBAN written "
                        "on the invoice.",
                        move=self.display_name,
                    )
                )
            elif bank.acc_type != "iban":
                errors.append(
                    self.env._(
                        "The bank account %(account)s of %(move)s is not an IBAN: "
                        "choose the company's IBAN as its Recipient Bank (Other "
                        "Info tab); a public buyer pays by credit transfer to an "
                        "IBAN.",
                        account=bank.acc_number,
                        move=self.display_name,
                    )
                )
        return errors

    def _chorus_billing_framework(self):
        """Billing framework (BT-23) of the document: goods, services or both."""
        self.ensure_one()
        kinds = {
            "services" if line.product_id.type == "service" else "goods"
            for line in self.invoice_line_ids
            if line.display_type == "product" and line.product_id
        }
        if kinds == {"goods"}:
            return BILLING_FRAMEWORK_GOODS
        if kinds == {"goods", "services"}:
            return BILLING_FRAMEWORK_MIXED
        return BILLING_FRAMEWORK_SERVICES

    def _chorus_document_notes(self):
        """The legal notes (BG-1) as ``(subject code, text)`` pairs: late-payment
        interest (PMD), the recovery indemnity (PMT), early payment discount
        (AAB)."""
        self.ensure_one()
        term = self.invoice_payment_term_id
        if term.early_discount and term.discount_percentage:
            percentage = float_repr(term.discount_percentage, 2).rstrip("0")
            discount = NOTE_DISCOUNT.format(
                percentage=percentage.rstrip(".").replace(".", ","),
                days=term.discount_days,
            )
        else:
            discount = NOTE_NO_DISCOUNT
        return [
            ("PMD", NOTE_LATE_PAYMENT),
            ("PMT", NOTE_RECOVERY_INDEMNITY),
            ("AAB", discount),
        ]

    # Files --------------------------------------------------------------------

    def _chorus_document_filename(self, syntax):
        """``<invoice number>_<syntax>.<extension>``, safe and at most 50
        characters (Chorus Pro's limit on file names)."""
        self.ensure_one()
        suffix = SYNTAX_SUFFIXES[syntax]
        base = _UNSAFE_FILENAME_CHARACTERS.sub("_", self.name or "").strip("_")
        return (base or f"move_{self.id}")[: MAX_ATTACHMENT_NAME - len(suffix)] + suffix

    def _chorus_render_pdfs(self):
        """The invoice PDFs of these moves, by move id.

        An invoice already sent or printed keeps the PDF Odoo stored for it:
        Chorus Pro gets the very document the customer may have received.
        The others are rendered together per company with Odoo's own Send &
        Print rendering (one wkhtmltopdf run per report, split per invoice),
        instead of one run per invoice: most of a Factur-X document's cost is
        wkhtmltopdf. A company whose PDFs cannot be rendered or split is left
        out, and so is everything when wkhtmltopdf takes one document at a
        time: those invoices are rendered one by one when their document is
        built, so that one broken invoice does not stop the others."""
        pdfs = {}
        for move in self:
            if stored := move._chorus_stored_pdf():
                pdfs[move.id] = stored
        to_render = self.filtered(lambda move: move.id not in pdfs)
        if len(to_render) < 2 or not renders_several_documents():
            return pdfs
        send = self.env["account.move.send"].with_context(force_report_rendering=True)
        for moves in to_render.grouped("company_id").values():
            invoices_data = {
                move: {"pdf_report": send._get_default_pdf_report_id(move)}
                for move in moves
            }
            try:
                with self.env.cr.savepoint():
                    send._prepare_invoice_pdf_report(invoices_data)
            except Exception as error:  # pylint: disable=broad-except
                # Whatever broke (a template, the split), the invoices get
                # their PDF alone, and the one at fault its own error.
                _logger.info(
                    "Invoice PDFs of %s rendered one by one: %s", moves.ids, error
                )
                continue
            pdfs.update(
                (move.id, data["pdf_attachment_values"]["raw"])
                for move, data in invoices_data.items()
            )
        return pdfs

    def _chorus_stored_pdf(self):
        """The PDF Odoo keeps for this posted invoice once it has been sent or
        printed (dropped when the invoice is reset to draft), or None."""
        self.ensure_one()
        raw = self.invoice_pdf_report_id.raw
        # Only a real PDF: Odoo stores the HTML of the report in test mode.
        return raw if raw and raw.startswith(b"%PDF") else None

    def _chorus_facturx_pdf(self, xml, pdf=None):
        """The invoice PDF (``pdf``, the one Odoo stored, or rendered here) as
        a Factur-X PDF/A-3 embedding ``xml``, the way Odoo embeds its own
        Factur-X (``account_edi_ubl_cii``)."""
        self.ensure_one()
        pdf = pdf or self._chorus_stored_pdf()
        if pdf is None:
            report = self.env["account.move.send"]._get_default_pdf_report_id(self)
            pdf, _report_type = (
                self.env["ir.actions.report"]
                .with_company(self.company_id)
                .with_context(
                    force_report_rendering=True, report_pdf_no_attachment=True
                )
                ._render_qweb_pdf(report.report_name, res_ids=self.ids)
            )
        reader = OdooPdfFileReader(io.BytesIO(pdf), strict=False)
        writer = OdooPdfFileWriter()
        writer.cloneReaderDocumentRoot(reader)
        # A custom report may embed a Factur-X already (account_edi_ubl_cii's
        # "account.custom_templates_facturx_list"): the document carries one.
        names = writer._root_object.get("/Names")
        if names is not None:
            names.get_object().pop("/EmbeddedFiles", None)
        writer._root_object.pop("/AF", None)
        writer.addAttachment(FACTURX_XML_NAME, xml, subtype="text/xml")
        if not writer.is_pdfa:
            try:
                writer.convert_to_pdfa()
            except Exception as error:  # pylint: disable=broad-except
                # Odoo keeps a plain PDF then; Chorus Pro reads the XML anyway.
                _logger.warning(
                    "Invoice %s: PDF/A conversion failed (%s)", self.name, error
                )
        metadata = self.env["ir.qweb"]._render(
            "account_edi_ubl_cii.account_invoice_pdfa_3_facturx_metadata",
            {"title": self.name, "date": fields.Date.context_today(self)},
        )
        writer.add_file_metadata(metadata.encode())
        with io.BytesIO() as buffer:
            writer.write(buffer)
            return buffer.getvalue()
