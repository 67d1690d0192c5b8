from odoo import api, fields, models


class AccountMove(models.Model):
    _inherit = "account.move"  # pylint: disable=consider-merging-classes-inherited

    chorus_configuration_warning = fields.Char(
        "Chorus Pro configuration missing",
        compute="_compute_chorus_configuration_warning",
    )

    @api.depends("company_id", "commercial_partner_id", "move_type", "chorus_state")
    def _compute_chorus_configuration_warning(self):
        """Say, on an invoice that should go to Chorus Pro, what its company
        still lacks to send it and where to set it, before anyone posts it."""
        for move in self:
            warning = False
            if (
                move.move_type in ("out_invoice", "out_refund")
                and move.commercial_partner_id.chorus_is_public
                and move.company_id
                and move.chorus_state in (False, "to_send", "error")
            ):
                company = move.company_id
                missing = company._chorus_missing_credentials()
                if missing:
                    warning = self.env._(
                        "Chorus Pro is not configured for %(company)s "
                        "(%(environment)s): %(missing)s missing, so this invoice "
                        "cannot be sent. An administrator sets them in Invoicing > "
                        "Configuration > Settings > Chorus Pro, or in the server "
                        "configuration file.",
                        company=company.name,
                        environment=company._chorus_environment_label(),
                        missing=", ".join(missing),
                    )
            move.chorus_configuration_warning = warning
