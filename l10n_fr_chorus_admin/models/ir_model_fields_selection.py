from odoo import models
from odoo.tools import SQL


class IrModelFieldsSelection(models.Model):
    _inherit = "ir.model.fields.selection"

    def _get_records(self):
        # Odoo 18 compares the column with the value as text, which fails on the
        # jsonb column of a company-dependent field (one value per company), such
        # as the invoice sending method this add-on extends: uninstalling it
        # would log SQL errors and leave its data behind.
        self.ensure_one()
        model = self.env[self.field_id.model]
        field = model._fields.get(self.field_id.name)
        if not (field and field.company_dependent):
            return super()._get_records()
        model.flush_model([field.name])
        rows = self.env.execute_query(
            SQL(
                "SELECT id FROM %s WHERE EXISTS "
                "(SELECT 1 FROM jsonb_each_text(%s) WHERE value = %s)",
                SQL.identifier(model._table),
                SQL.identifier(field.name),
                self.value,
            )
        )
        return model.browse(row[0] for row in rows)
