from odoo import api, fields, models

from .res_company import SYNTAX_SELECTION

# A flow's labels differ from an invoice's ("Integrated"...), whose French
# agrees with "facture" and not with "flux".
DEPOSIT_STATES = [
    ("draft", "Being deposited"),
    ("unknown", "Outcome unknown"),
    ("pending", "Awaiting report"),
    ("integrated", "Flow integrated"),
    ("partial", "Partially integrated"),
    ("rejected", "Flow rejected"),
    ("error", "Not deposited"),
]


class ChorusProDeposit(models.Model):
    """One flow deposited on Chorus Pro (or being deposited): the file, its
    syntax, the flow number Chorus Pro gave it and what became of it."""

    _name = "chorus.pro.deposit"
    _description = "Chorus Pro deposit (flow)"
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    syntax = fields.Selection(
        SYNTAX_SELECTION, string="Format", required=True, readonly=True
    )
    filename = fields.Char(readonly=True)
    file = fields.Binary(attachment=True, readonly=True)
    flow_number = fields.Char(readonly=True, index=True, copy=False)
    deposit_date = fields.Datetime(readonly=True)
    state = fields.Selection(
        DEPOSIT_STATES, default="draft", required=True, readonly=True, index=True
    )
    flow_status = fields.Char("Chorus Pro flow status", readonly=True)
    error = fields.Text(readonly=True)
    attempts = fields.Integer(readonly=True)
    move_ids = fields.Many2many(
        "account.move",
        "chorus_pro_deposit_account_move_rel",
        "deposit_id",
        "move_id",
        string="Invoices",
        readonly=True,
        check_company=True,
    )
    move_count = fields.Integer(compute="_compute_move_count")

    @api.depends("flow_number", "filename")
    def _compute_name(self):
        for deposit in self:
            deposit.name = deposit.flow_number or deposit.filename or "/"

    @api.depends("move_ids")
    def _compute_move_count(self):
        for deposit in self:
            deposit.move_count = len(deposit.move_ids)

    def action_view_moves(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "account.action_move_out_invoice_type"
        )
        action.update(
            {
                "domain": [("id", "in", self.move_ids.ids)],
                "context": {"create": False},
            }
        )
        return action
