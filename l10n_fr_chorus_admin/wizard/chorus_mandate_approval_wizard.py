from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..chorus_pro import constants
from ..chorus_pro.exceptions import ChorusProError

APPROVER_GROUP = "l10n_fr_chorus_admin.group_chorus_mandate_approver"


def check_approver(env):
    if not env.user.has_group(APPROVER_GROUP):
        raise AccessError(
            env._(
                "Only mandate approvers may approve or refuse a mandate: ask one "
                "to do it, or an administrator for the group Administrative "
                "mandates / Mandate approver (Settings > Users & Companies > "
                "Users)."
            )
        )


class ChorusMandateApprovalWizard(models.TransientModel):
    """Approve a signed administrative mandate: record the references the
    buyer's Chorus Pro structure requires, confirm the order, create and post
    its invoice."""

    _name = "chorus.mandate.approval.wizard"
    _description = "Approve an administrative mandate"

    order_id = fields.Many2one("sale.order", required=True, readonly=True)
    partner_id = fields.Many2one(related="order_id.commercial_partner_id")
    company_id = fields.Many2one(related="order_id.company_id")
    requirement = fields.Selection(related="partner_id.chorus_requirement")
    attachment_id = fields.Many2one(related="order_id.chorus_mandate_attachment_id")
    document = fields.Binary(related="attachment_id.datas", string="Signed form")
    document_name = fields.Char(related="attachment_id.name")
    document_is_pdf = fields.Boolean(compute="_compute_document_is_pdf")
    engagement_number = fields.Char(
        "Engagement number", compute="_compute_references", store=True, readonly=False
    )
    service_code = fields.Char(
        "Service code", compute="_compute_references", store=True, readonly=False
    )
    contract_reference = fields.Char(
        "Contract number", compute="_compute_references", store=True, readonly=False
    )
    available_services = fields.Char(compute="_compute_available_services")
    needs_service = fields.Boolean(compute="_compute_needs")
    needs_engagement = fields.Boolean(compute="_compute_needs")
    check_engagement = fields.Boolean(
        "Check the engagement number on Chorus Pro",
        help="Ask Chorus Pro whether this engagement number exists for your "
        "company (mostly known for State buyers).",
    )

    @api.depends("attachment_id")
    def _compute_document_is_pdf(self):
        for wizard in self:
            wizard.document_is_pdf = wizard.attachment_id.mimetype == "application/pdf"

    @api.depends("order_id")
    def _compute_references(self):
        for wizard in self:
            wizard.engagement_number = wizard.order_id.chorus_engagement_number
            wizard.service_code = wizard.order_id.chorus_service_code
            wizard.contract_reference = wizard.order_id.chorus_contract_reference

    @api.depends("partner_id")
    def _compute_available_services(self):
        for wizard in self:
            wizard.available_services = ", ".join(
                wizard.order_id._chorus_mandate_services().mapped("code")
            )

    @api.depends("requirement", "service_code", "partner_id")
    def _compute_needs(self):
        for wizard in self:
            requirement = wizard.requirement or "none"
            wizard.needs_service = requirement in ("service", "service_and_engagement")
            wizard.needs_engagement = requirement in (
                "engagement",
                "service_and_engagement",
            ) or bool(wizard._service().engagement_required)

    def _service(self):
        code = (self.service_code or "").strip()
        return self.order_id._chorus_mandate_services().filtered(
            lambda s: s.code == code
        )[:1]

    def _check_errors(self):
        """What is missing or malformed, as messages; empty when it may be
        approved."""
        self.ensure_one()
        errors = []
        partner = self.partner_id
        engagement = (self.engagement_number or "").strip()
        service_code = (self.service_code or "").strip()
        if not self.attachment_id:
            errors.append(
                self.env._(
                    "No signed mandate form is attached to %(order)s: register "
                    "it before approving.",
                    order=self.order_id.display_name,
                )
            )
        if len(engagement) > constants.MAX_ENGAGEMENT_NUMBER:
            errors.append(
                self.env._(
                    "The engagement number is longer than %(max)s characters: "
                    "correct it.",
                    max=constants.MAX_ENGAGEMENT_NUMBER,
                )
            )
        if service_code:
            services = self.order_id._chorus_mandate_services()
            format_errors = self.env["account.move"]._chorus_service_code_errors(
                service_code, self.env._("the Service code")
            )
            errors += format_errors
            if (
                not format_errors
                and partner.with_context(active_test=False).chorus_service_ids
                and not self._service()
            ):
                errors.append(
                    self.env._(
                        "%(partner)s has no active Chorus Pro service %(code)s: "
                        "enter one of its services (%(services)s), or click "
                        "'Look up on Chorus Pro' on the customer if the buyer "
                        "created it lately.",
                        partner=partner.display_name,
                        code=service_code,
                        services=", ".join(services.mapped("code")) or "-",
                    )
                )
        if self.needs_service and not service_code:
            errors.append(
                self.env._(
                    "%(partner)s requires a Chorus Pro service code on its "
                    "invoices: enter the service written on the signed form.",
                    partner=partner.display_name,
                )
            )
        if self.needs_engagement and not engagement:
            errors.append(
                self.env._(
                    "%(partner)s requires an engagement number on this invoice: "
                    "enter the one written on the signed form.",
                    partner=partner.display_name,
                )
            )
        if self.requirement == "service_or_engagement" and not (
            service_code or engagement
        ):
            errors.append(
                self.env._(
                    "%(partner)s requires a service code or an engagement "
                    "number: enter the one written on the signed form.",
                    partner=partner.display_name,
                )
            )
        return errors

    def _check_engagement_on_chorus(self):
        self.ensure_one()
        engagement = (self.engagement_number or "").strip()
        if not engagement:
            raise UserError(self.env._("Enter the engagement number to check."))
        company = self.company_id
        if not company.chorus_structure_id:
            raise UserError(
                self.env._(
                    "The company's own Chorus Pro structure is not known yet: an "
                    "administrator clicks Test connection in Settings > Invoicing > "
                    "Chorus Pro; or untick the check of the engagement number."
                )
            )
        client = company._chorus_client()
        try:
            found = client.search_engagements(engagement, company.chorus_structure_id)
        except ChorusProError as error:
            raise UserError(company._chorus_user_error(error)) from error
        # An engagement number is the commitment of one buyer.
        siret = self.partner_id._chorus_clean_siret()
        found = [
            item
            for item in found
            if item.get("identifiantStructureEmettrice") in (None, "", siret)
        ]
        if not found:
            raise UserError(
                self.env._(
                    "Chorus Pro knows no engagement number %(number)s of "
                    "%(partner)s for your company: check it with the buyer.",
                    number=engagement,
                    partner=self.partner_id.display_name,
                )
            )

    def action_approve(self):
        self.ensure_one()
        check_approver(self.env)
        errors = self._check_errors()
        if errors:
            raise UserError("\n".join(errors))
        if self.check_engagement:
            self._check_engagement_on_chorus()
        invoices = self.order_id._chorus_mandate_approve(
            (self.engagement_number or "").strip(),
            (self.service_code or "").strip(),
            (self.contract_reference or "").strip(),
        )
        return self.order_id.action_view_invoice(invoices)
