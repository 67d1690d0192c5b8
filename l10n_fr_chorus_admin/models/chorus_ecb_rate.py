from odoo import api, fields, models


class ChorusEcbRate(models.Model):
    """The European Central Bank's main refinancing rate, from the day it
    applied. The late-payment interest of public buyers is the rate in force
    on the first day of the half-year lateness started in, plus 8 points.
    Accountants add each new rate (https://www.ecb.europa.eu)."""

    _name = "chorus.ecb.rate"
    _description = "ECB main refinancing rate"
    _order = "date_from desc"
    _rec_name = "date_from"

    date_from = fields.Date("In force from", required=True, index=True)
    rate = fields.Float("Rate (%)", required=True, digits=(16, 2))
    note = fields.Char()

    _sql_constraints = [
        (
            "date_from_unique",
            "UNIQUE(date_from)",
            "There is already an ECB rate from this date: correct that one instead.",
        ),
        (
            "rate_range",
            "CHECK(rate > -10 AND rate < 100)",
            "Enter the ECB rate as a percentage between -10 and 100, e.g. 2.15.",
        ),
    ]

    @api.model
    def _rate_on(self, day):
        """The rate in force on ``day`` (an empty recordset when unknown)."""
        return self.sudo().search([("date_from", "<=", day)], limit=1)
