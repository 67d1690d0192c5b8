import logging

from stdnum.fr import siret as stdnum_siret

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import split_every

from ..chorus_pro.constants import RESERVED_SERVICE_CODE
from ..chorus_pro.exceptions import ChorusProError
from ..tools import can_commit, first_active_lang
from .res_company import SYNTAX_SELECTION

_logger = logging.getLogger(__name__)

BUYER_CATEGORIES = [
    ("state", "State and its public bodies"),
    ("local", "Local authority and its public bodies"),
    ("health", "Public health establishment"),
    ("public_undertaking", "Public undertaking"),
    ("other", "Other public buyer"),
]
# Maximum payment delay (délai global de paiement) by buyer category, in days,
# and the payment term shipped for it. A contract may shorten it, never extend it.
MAX_PAYMENT_DAYS = {
    "state": 30,
    "local": 30,
    "health": 50,
    "public_undertaking": 60,
    "other": 30,
}
PAYMENT_TERMS = {
    30: "l10n_fr_chorus_admin.payment_term_public_30",
    50: "l10n_fr_chorus_admin.payment_term_public_50",
    60: "l10n_fr_chorus_admin.payment_term_public_60",
}
REQUIREMENTS = [
    ("none", "Nothing"),
    ("service", "Service code"),
    ("engagement", "Engagement number"),
    ("service_and_engagement", "Service code and engagement number"),
    ("service_or_engagement", "Service code or engagement number"),
]


def requirement_from_parameters(parameters):
    """Our requirement kind from a structure's Chorus Pro ``parametres``."""
    if parameters.get("gestionNumeroEJOuCodeService"):
        return "service_or_engagement"
    service = bool(parameters.get("codeServiceDoitEtreRenseigne"))
    engagement = bool(parameters.get("numeroEJDoitEtreRenseigne"))
    if service and engagement:
        return "service_and_engagement"
    if service:
        return "service"
    if engagement:
        return "engagement"
    return "none"


class ResPartner(models.Model):
    _inherit = "res.partner"

    chorus_is_public = fields.Boolean(
        "Public administration",
        help="A French public buyer: it orders by administrative mandate and "
        "receives its invoices through Chorus Pro.",
    )
    chorus_buyer_category = fields.Selection(
        BUYER_CATEGORIES,
        string="Buyer category",
        help="Sets the legal maximum payment delay: 30 days for the State, local "
        "authorities and their bodies, 50 days for public health establishments, "
        "60 days for public undertakings.",
    )
    chorus_max_payment_days = fields.Integer(
        "Maximum payment delay (days)",
        compute="_compute_chorus_max_payment_days",
        store=True,
    )
    chorus_structure_id = fields.Integer(
        "Chorus Pro structure id", readonly=True, copy=False
    )
    chorus_structure_name = fields.Char(
        "Chorus Pro structure", readonly=True, copy=False
    )
    chorus_requirement = fields.Selection(
        REQUIREMENTS,
        string="Chorus Pro requires",
        readonly=True,
        copy=False,
        help="What the buyer's Chorus Pro structure requires on every invoice.",
    )
    chorus_paid_status_reported = fields.Boolean(
        "Reports the paid status",
        readonly=True,
        copy=False,
        help="Whether the buyer reports the payment (MISE_EN_PAIEMENT) on Chorus "
        "Pro; otherwise its invoices are followed until the payment order.",
    )
    chorus_sync_date = fields.Datetime(
        "Last Chorus Pro synchronisation", readonly=True, copy=False
    )
    chorus_sync_error = fields.Text(
        "Last synchronisation error", readonly=True, copy=False
    )
    chorus_service_ids = fields.One2many(
        "chorus.pro.service", "partner_id", string="Chorus Pro services"
    )
    chorus_default_service_id = fields.Many2one(
        "chorus.pro.service",
        string="Default Chorus Pro service",
        domain="[('partner_id', '=', commercial_partner_id)]",
        help="Service code put on the invoices sent to this contact.",
    )
    chorus_syntax = fields.Selection(
        SYNTAX_SELECTION,
        string="Chorus Pro document format",
        help="Leave empty to use the company's format.",
    )
    chorus_tripartite_ref = fields.Char(
        "Tripartite convention",
        help="Reference of the convention between the buyer, its public accountant "
        "and the company: the buyer then pays by SEPA direct debit.",
    )
    chorus_tripartite_date = fields.Date("Convention date")
    chorus_tripartite_accountant_id = fields.Many2one(
        "res.partner",
        string="Public accountant",
        help="The buyer's public accountant (Trésor public) who signed the convention.",
    )
    chorus_payment_method = fields.Selection(
        [
            ("mandate", "Administrative mandate"),
            ("direct_debit", "SEPA direct debit (tripartite convention)"),
        ],
        string="Public payment method",
        compute="_compute_chorus_payment_method",
        store=True,
    )
    # Stored per company: the uninstall hook resets it in every company, the
    # ondelete policy (in the current one) only finds nothing left.
    invoice_sending_method = fields.Selection(
        selection_add=[("chorus_pro", "Chorus Pro")],
        ondelete={"chorus_pro": "set null"},
    )

    @api.depends("chorus_is_public", "chorus_buyer_category")
    def _compute_chorus_max_payment_days(self):
        for partner in self:
            partner.chorus_max_payment_days = (
                MAX_PAYMENT_DAYS[partner.chorus_buyer_category or "other"]
                if partner.chorus_is_public
                else 0
            )

    @api.depends("chorus_is_public", "chorus_tripartite_ref")
    def _compute_chorus_payment_method(self):
        for partner in self:
            if not partner.chorus_is_public:
                partner.chorus_payment_method = False
            elif partner.chorus_tripartite_ref:
                partner.chorus_payment_method = "direct_debit"
            else:
                partner.chorus_payment_method = "mandate"

    @api.constrains("siret", "chorus_is_public")
    def _check_chorus_siret(self):
        for partner in self.filtered("chorus_is_public"):
            siret = partner._chorus_clean_siret()
            if siret and not stdnum_siret.is_valid(siret):
                raise ValidationError(
                    self.env._(
                        "The SIRET %(siret)s of %(partner)s is not valid (a SIRET "
                        "has 14 digits and passes the Luhn check): correct it, or "
                        "leave it empty.",
                        siret=partner.siret,
                        partner=partner.display_name,
                    )
                )

    @api.onchange("chorus_is_public", "chorus_buyer_category")
    def _onchange_chorus_public(self):
        # Show in the form what saving will set (see _chorus_apply_defaults).
        for partner in self.filtered("chorus_is_public"):
            partner.update(partner._chorus_default_values())

    @api.model
    def _commercial_fields(self):
        return super()._commercial_fields() + [
            "chorus_is_public",
            "chorus_buyer_category",
            "chorus_structure_id",
            "chorus_structure_name",
            "chorus_requirement",
            "chorus_paid_status_reported",
            "chorus_sync_date",
            "chorus_sync_error",
            "chorus_syntax",
            "chorus_tripartite_ref",
            "chorus_tripartite_date",
            "chorus_tripartite_accountant_id",
        ]

    @api.model_create_multi
    def create(self, vals_list):
        partners = super().create(vals_list)
        for partner, vals in zip(partners, vals_list, strict=True):
            if vals.get("chorus_is_public"):
                partner._chorus_apply_defaults(vals)
        return partners

    def write(self, vals):
        res = super().write(vals)
        if {"chorus_is_public", "chorus_buyer_category"} & set(vals):
            for partner in self.filtered("chorus_is_public"):
                partner._chorus_apply_defaults(vals)
        return res

    # Defaults of a public administration ------------------------------------

    def _chorus_default_values(self):
        """Payment term and sending method of a public buyer of this category."""
        self.ensure_one()
        days = MAX_PAYMENT_DAYS[self.chorus_buyer_category or "other"]
        term = self.env.ref(PAYMENT_TERMS[days], raise_if_not_found=False)
        values = {"invoice_sending_method": "chorus_pro"}
        if term:
            values["property_payment_term_id"] = term.id
        return values

    def _chorus_apply_defaults(self, vals):
        """Apply the defaults that the same create/write did not set itself."""
        self.ensure_one()
        if self.commercial_partner_id != self:
            return
        defaults = {
            name: value
            for name, value in self._chorus_default_values().items()
            if name not in vals
        }
        if defaults:
            super().write(defaults)

    # Chorus Pro look-up -------------------------------------------------------

    def _chorus_clean_siret(self):
        return (self.siret or "").replace(" ", "")

    def _chorus_fetch_structure(self, client):
        """Everything Chorus Pro says about this buyer; raises UserError when the
        SIRET is missing, invalid, unknown or ambiguous. Makes no change."""
        self.ensure_one()
        siret = self._chorus_clean_siret()
        if not siret:
            raise UserError(
                self.env._(
                    "Set the SIRET of %(partner)s on its form first, then look it "
                    "up again.",
                    partner=self.display_name,
                )
            )
        if not stdnum_siret.is_valid(siret):
            raise UserError(
                self.env._(
                    "The SIRET %(siret)s of %(partner)s is not valid (a SIRET "
                    "has 14 digits and passes the Luhn check): correct it on its "
                    "form, then look it up again.",
                    siret=self.siret,
                    partner=self.display_name,
                )
            )
        structures = [
            structure
            for structure in client.search_structures(siret)
            if structure.get("identifiantStructure") == siret
        ]
        if not structures:
            raise UserError(
                self.env._(
                    "Chorus Pro knows no structure with the SIRET %(siret)s. Check "
                    "the SIRET with the buyer, or ask it for its Chorus Pro "
                    "identifier.",
                    siret=siret,
                )
            )
        if len(structures) > 1:
            raise UserError(
                self.env._(
                    "Chorus Pro has %(count)s structures with the SIRET %(siret)s, "
                    "so the one receiving the invoices is unknown: ask the buyer "
                    "to have the others closed on Chorus Pro, then look it up "
                    "again.",
                    count=len(structures),
                    siret=siret,
                )
            )
        structure = structures[0]
        structure_id = structure["idStructureCPP"]
        details = client.get_structure(structure_id)
        services = []
        for service in client.search_services(structure_id):
            # The service reserved to invoices between public entities: a
            # supplier's invoice sent to it is rejected, so it is never offered.
            if service.get("codeService") == RESERVED_SERVICE_CODE:
                continue
            if service.get("estActif", True):
                parameters = client.get_service(structure_id, service["idService"])
                service = dict(
                    service,
                    engagement_required=bool(
                        (parameters.get("parametres") or {}).get("numeroEngagement")
                    ),
                )
            services.append(service)
        return structure, details, services

    def _chorus_store_structure(self, structure, details, services):
        self.ensure_one()
        parameters = details.get("parametres") or {}
        self.write(
            {
                "chorus_structure_id": structure["idStructureCPP"],
                "chorus_structure_name": structure.get("designationStructure")
                or (details.get("informationGenerales") or {}).get("libelleStructure"),
                "chorus_requirement": requirement_from_parameters(parameters),
                "chorus_paid_status_reported": not parameters.get(
                    "statutMiseEnPaiementNestPasRemonte"
                ),
                "chorus_sync_date": fields.Datetime.now(),
                "chorus_sync_error": False,
            }
        )
        self.env["chorus.pro.service"].sudo()._chorus_sync(self, services)

    def _chorus_synchronise(self, client):
        self._chorus_store_structure(*self._chorus_fetch_structure(client))

    def action_chorus_lookup(self):
        """Fill the structure data and services from Chorus Pro, by SIRET."""
        self.ensure_one()
        partner = self.commercial_partner_id
        company = partner.company_id or self.env.company
        client = company._chorus_client()
        try:
            partner._chorus_synchronise(client)
        except ChorusProError as error:
            raise UserError(company._chorus_user_error(error)) from error
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Chorus Pro"),
                "message": self.env._(
                    "%(partner)s: structure %(structure)s, %(count)s active services.",
                    partner=partner.display_name,
                    structure=partner.chorus_structure_id,
                    count=len(partner.chorus_service_ids),
                ),
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    # Cron -------------------------------------------------------------------

    @api.model
    def _cron_chorus_sync_public_partners(self, batch_size=20):
        """Refresh every public customer from Chorus Pro, oldest first, in
        batches committed one by one; a failing partner is logged on it and the
        others go on."""
        partners = self.search(
            [("chorus_is_public", "=", True), ("siret", "!=", False)],
            order="chorus_sync_date asc nulls first, id",
        ).filtered(lambda partner: partner.commercial_partner_id == partner)
        clients = {}
        done = 0
        for batch in split_every(batch_size, partners.ids, self.browse):
            for partner in batch:
                company = partner.company_id or self.env.company
                if company not in clients:
                    try:
                        clients[company] = company._chorus_client()
                    except UserError as error:
                        _logger.info("Chorus Pro partner sync skipped: %s", error)
                        clients[company] = None
                if clients[company]:
                    partner._chorus_sync_logged(clients[company])
            done += len(batch)
            self.env["ir.cron"]._notify_progress(
                done=done, remaining=len(partners) - done
            )
            if can_commit(self.env):
                # One batch's results survive a later failure of the cron.
                self.env.cr.commit()  # pylint: disable=invalid-commit

    def _chorus_for_readers(self):
        """This customer in the language of its salesperson, else of its
        company, when nobody's language is known (the weekly scheduled
        action); as is when a user acts."""
        self.ensure_one()
        if self.env.lang:
            return self
        lang = first_active_lang(
            self.env,
            self.user_id.lang,
            (self.company_id or self.env.company).partner_id.lang,
        )
        return self.with_context(lang=lang) if lang else self

    def _chorus_sync_logged(self, client):
        """Synchronise; on failure, keep the reason on the partner."""
        self.ensure_one()
        # What goes wrong is written for the customer's readers.
        partner = self._chorus_for_readers()
        try:
            with self.env.cr.savepoint():
                partner._chorus_synchronise(client)
        except (ChorusProError, UserError) as error:
            message = (
                (partner.company_id or partner.env.company)._chorus_user_error(error)
                if isinstance(error, ChorusProError)
                else str(error)
            )
            _logger.info("Chorus Pro sync of partner %s failed: %s", self.id, message)
            partner.write({"chorus_sync_error": message})
            partner.message_post(
                body=partner.env._(
                    "Chorus Pro synchronisation failed: %(message)s", message=message
                )
            )
