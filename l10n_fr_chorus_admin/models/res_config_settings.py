from odoo import api, fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    chorus_environment = fields.Selection(
        related="company_id.chorus_environment", readonly=False
    )
    chorus_qualification_client_id = fields.Char(
        related="company_id.chorus_qualification_client_id",
        readonly=False,
        groups="base.group_system",
    )
    chorus_qualification_client_secret = fields.Char(
        related="company_id.chorus_qualification_client_secret",
        readonly=False,
        groups="base.group_system",
    )
    chorus_qualification_login = fields.Char(
        related="company_id.chorus_qualification_login",
        readonly=False,
        groups="base.group_system",
    )
    chorus_qualification_password = fields.Char(
        related="company_id.chorus_qualification_password",
        readonly=False,
        groups="base.group_system",
    )
    chorus_production_client_id = fields.Char(
        related="company_id.chorus_production_client_id",
        readonly=False,
        groups="base.group_system",
    )
    chorus_production_client_secret = fields.Char(
        related="company_id.chorus_production_client_secret",
        readonly=False,
        groups="base.group_system",
    )
    chorus_production_login = fields.Char(
        related="company_id.chorus_production_login",
        readonly=False,
        groups="base.group_system",
    )
    chorus_production_password = fields.Char(
        related="company_id.chorus_production_password",
        readonly=False,
        groups="base.group_system",
    )
    chorus_base_url = fields.Char(
        related="company_id.chorus_base_url",
        readonly=False,
        groups="base.group_system",
    )
    chorus_syntax = fields.Selection(related="company_id.chorus_syntax", readonly=False)
    chorus_invoices_per_flow = fields.Integer(
        related="company_id.chorus_invoices_per_flow", readonly=False
    )
    chorus_structure_id = fields.Integer(related="company_id.chorus_structure_id")
    chorus_password_expiry_date = fields.Date(
        related="company_id.chorus_password_expiry_date"
    )
    chorus_expiry_reminder_user_ids = fields.Many2many(
        related="company_id.chorus_expiry_reminder_user_ids", readonly=False
    )
    chorus_missing_configuration = fields.Char(
        "Missing Chorus Pro configuration",
        compute="_compute_chorus_missing_configuration",
    )

    @api.depends("company_id", "chorus_environment")
    def _compute_chorus_missing_configuration(self):
        for settings in self:
            missing = settings.company_id._chorus_missing_credentials(
                settings.chorus_environment
            )
            settings.chorus_missing_configuration = ", ".join(missing)

    def action_chorus_test_connection(self):
        self.ensure_one()
        return self.company_id.action_chorus_test_connection()
