import base64

from odoo import fields, models
from odoo.exceptions import UserError


class ChorusMandateUploadWizard(models.TransientModel):
    """Register the signed mandate form received by e-mail or post: a new
    file, or one already attached to the order."""

    _name = "chorus.mandate.upload.wizard"
    _description = "Register a signed administrative mandate form"

    order_id = fields.Many2one("sale.order", required=True, readonly=True)
    file = fields.Binary("Signed form")
    filename = fields.Char()
    attachment_id = fields.Many2one(
        "ir.attachment",
        string="Or a file attached to the order",
        domain="[('res_model', '=', 'sale.order'), ('res_id', '=', order_id)]",
    )

    def action_register(self):
        self.ensure_one()
        order = self.order_id
        order.check_access("write")
        if self.attachment_id:
            attachment = self.attachment_id
            if attachment.res_model != "sale.order" or attachment.res_id != order.id:
                raise UserError(
                    self.env._("Choose a file attached to %(order)s.", order=order.name)
                )
            order._chorus_mandate_receive(
                attachment.name, attachment.raw, attachment=attachment
            )
        elif self.file:
            order._chorus_mandate_receive(
                self.filename or "", base64.b64decode(self.file)
            )
        else:
            raise UserError(
                self.env._("Upload the signed form, or choose an attached file.")
            )
        return {"type": "ir.actions.act_window_close"}
