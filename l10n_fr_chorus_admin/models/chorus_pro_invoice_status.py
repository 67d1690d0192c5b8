from odoo import fields, models

from .account_move_chorus_followup import CHORUS_STATUSES


class ChorusProInvoiceStatus(models.Model):
    """One status an invoice went through on Chorus Pro, as the follow-up saw
    it (or as Chorus Pro's history tells, once read)."""

    _name = "chorus.pro.invoice.status"
    _description = "Chorus Pro invoice status"
    _order = "date desc, id desc"
    _check_company_auto = True

    move_id = fields.Many2one(
        "account.move",
        string="Invoice",
        required=True,
        ondelete="cascade",
        index=True,
        check_company=True,
    )
    company_id = fields.Many2one(related="move_id.company_id", store=True)
    status = fields.Selection(CHORUS_STATUSES, required=True)
    date = fields.Datetime()
    comment = fields.Text()
