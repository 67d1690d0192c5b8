from odoo import api, fields, models
from odoo.exceptions import UserError

from ..chorus_pro import statuses as st
from ..chorus_pro.exceptions import ChorusProError
from ..models.account_move_chorus_followup import ACTIVITY_TO_RECYCLE


class ChorusProRecycleWizard(models.TransientModel):
    """Re-route an invoice the buyer sent back (A_RECYCLER): same number, the
    right service code or engagement number."""

    _name = "chorus.pro.recycle.wizard"
    _description = "Re-route an invoice on Chorus Pro"

    move_id = fields.Many2one(
        "account.move", string="Invoice", required=True, readonly=True
    )
    partner_id = fields.Many2one(related="move_id.commercial_partner_id")
    reason = fields.Text(
        related="move_id.chorus_status_comment", string="Reason of the buyer"
    )
    service_id = fields.Many2one(
        "chorus.pro.service",
        domain="[('partner_id', '=', partner_id)]",
        compute="_compute_routing",
        store=True,
        readonly=False,
    )
    engagement_number = fields.Char(
        compute="_compute_routing", store=True, readonly=False
    )
    comment = fields.Text()

    @api.depends("move_id")
    def _compute_routing(self):
        for wizard in self:
            move = wizard.move_id
            wizard.service_id = move.commercial_partner_id.chorus_service_ids.filtered(
                lambda service, move=move: service.code == move.buyer_reference
            )[:1]
            wizard.engagement_number = move.purchase_order_reference

    def action_recycle(self):
        self.ensure_one()
        move = self.move_id
        move.check_access("write")
        if move.chorus_state != "to_recycle" or not move.chorus_identifier:
            raise UserError(
                self.env._(
                    "Only an invoice to re-route on Chorus Pro can be recycled: "
                    "reload the invoice to see its current Chorus Pro status."
                )
            )
        service_code = self.service_id.code or False
        engagement = (self.engagement_number or "").strip() or False
        if (service_code or False) == (move.buyer_reference or False) and (
            engagement == (move.purchase_order_reference or False)
        ):
            raise UserError(
                self.env._(
                    "Pick another service or engagement number: the invoice is "
                    "already routed this way."
                )
            )
        try:
            client = move.company_id._chorus_client()
            client.recycle_invoice(
                int(move.chorus_identifier),
                service_code=service_code,
                engagement_number=engagement,
                comment=(self.comment or "").strip() or None,
            )
        except ChorusProError as error:
            raise UserError(move.company_id._chorus_user_error(error)) from error
        now = fields.Datetime.now()
        # What Chorus Pro accepted is recorded whatever the user's rights on
        # the status history (written by the follow-up, read-only to users);
        # the user's right to change the invoice was checked above.
        move.sudo().write(
            {
                "buyer_reference": service_code,
                "purchase_order_reference": engagement,
                "chorus_status": st.INVOICE_ROUTING,
                "chorus_status_date": now,
                "chorus_status_comment": self.comment or False,
                "chorus_state": "integrated",
                "chorus_status_ids": [
                    fields.Command.create(
                        {
                            "status": st.INVOICE_ROUTING,
                            "date": now,
                            "comment": self.comment or "",
                        }
                    )
                ],
            }
        )
        move.message_post(
            body=self.env._(
                "Re-routed on Chorus Pro: service %(service)s, engagement "
                "%(engagement)s.",
                service=service_code or "-",
                engagement=engagement or "-",
            )
        )
        move._chorus_done_activities(
            ACTIVITY_TO_RECYCLE,
            self.env._("Re-routed on Chorus Pro."),
        )
        return {"type": "ir.actions.act_window_close"}
