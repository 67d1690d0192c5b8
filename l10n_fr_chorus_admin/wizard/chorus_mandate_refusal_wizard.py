from odoo import fields, models

from .chorus_mandate_approval_wizard import check_approver


class ChorusMandateRefusalWizard(models.TransientModel):
    """Refuse a mandate: the reason is kept on the order and e-mailed to the
    customer."""

    _name = "chorus.mandate.refusal.wizard"
    _description = "Refuse an administrative mandate"

    order_id = fields.Many2one("sale.order", required=True, readonly=True)
    reason = fields.Text(
        required=True,
        help="Sent to the customer: say what to correct in a new signed form.",
    )

    def action_refuse(self):
        self.ensure_one()
        check_approver(self.env)
        self.order_id._chorus_mandate_refuse(self.reason)
        return {"type": "ir.actions.act_window_close"}
