from odoo import api, fields, models

from odoo.addons.payment import utils as payment_utils

MANDATE_MODE = "administrative_mandate"


class PaymentProvider(models.Model):
    _inherit = "payment.provider"

    custom_mode = fields.Selection(
        selection_add=[(MANDATE_MODE, "Administrative mandate")],
        ondelete={MANDATE_MODE: "set null"},
    )

    @api.model
    def _get_compatible_providers(
        self, company_id, partner_id, amount, *args, report=None, **kwargs
    ):
        """Offer the administrative mandate only to public customers paying by
        mandate (not to private customers, nor under a tripartite convention)."""
        providers = super()._get_compatible_providers(
            company_id, partner_id, amount, *args, report=report, **kwargs
        )
        partner = self.env["res.partner"].browse(partner_id).commercial_partner_id
        if partner.sudo().chorus_payment_method != "mandate":
            mandate = providers.filtered(lambda p: p.custom_mode == MANDATE_MODE)
            providers -= mandate
            payment_utils.add_to_report(
                report,
                mandate,
                available=False,
                reason=self.env._("offered to public administrations only"),
            )
        return providers
