from odoo import api, fields, models


class ChorusProService(models.Model):
    """A service of a public buyer's Chorus Pro structure (its department in
    charge of the invoice), synchronised from Chorus Pro."""

    _name = "chorus.pro.service"
    _description = "Chorus Pro service of a public buyer"
    _order = "partner_id, code"
    _rec_names_search = ["code", "name"]

    partner_id = fields.Many2one(
        "res.partner",
        string="Public buyer",
        required=True,
        ondelete="cascade",
        index=True,
    )
    company_id = fields.Many2one(related="partner_id.company_id", store=True)
    code = fields.Char("Service code", required=True)
    name = fields.Char("Service name")
    chorus_id = fields.Integer("Chorus Pro id", index=True)
    active = fields.Boolean(default=True)
    engagement_required = fields.Boolean(
        "Engagement number required",
        help="Invoices for this service must carry an engagement number.",
    )

    _sql_constraints = [
        (
            "chorus_id_partner_unique",
            "unique(partner_id, chorus_id)",
            "A Chorus Pro service appears once per public buyer: edit the "
            "existing one, or look the buyer up on Chorus Pro again.",
        ),
    ]

    @api.depends("code", "name")
    def _compute_display_name(self):
        for service in self:
            service.display_name = (
                f"{service.code} - {service.name}" if service.name else service.code
            )

    @api.model
    def _chorus_sync(self, partner, services):
        """Make the partner's services those of Chorus Pro: create the new ones,
        update the known ones, archive those that are gone or inactive."""
        existing = self.with_context(active_test=False).search(
            [("partner_id", "=", partner.id)]
        )
        by_chorus_id = {service.chorus_id: service for service in existing}
        seen = self.browse()
        to_create = []
        for data in services:
            values = {
                "code": data["codeService"],
                "name": data.get("libelleService") or data["codeService"],
                "active": bool(data.get("estActif", True)),
                "engagement_required": bool(data.get("engagement_required")),
            }
            service = by_chorus_id.get(data["idService"])
            if service:
                service.write(values)
                seen |= service
            else:
                to_create.append(
                    dict(values, partner_id=partner.id, chorus_id=data["idService"])
                )
        (existing - seen).filtered("active").write({"active": False})
        self.create(to_create)
