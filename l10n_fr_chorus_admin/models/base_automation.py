from odoo import api, models

# Key of the transaction's memo in ``cr.precommit.data``: that dictionary lives
# exactly as long as the transaction (cleared at commit, rollback and rollback
# to a savepoint), which is the lifetime this memo needs.
ACTIVE_RULES = "l10n_fr_chorus_admin.active_automation_rules"


class BaseAutomation(models.Model):
    _inherit = "base.automation"

    def _get_actions(self, records, triggers):
        """Look the active rules up once per transaction, model and triggers.

        Odoo runs this search at every write and every stored recomputation of
        a record whose model has a rule: posting one invoice made about four
        such queries, which with the add-on's rule on invoices cost more than
        the rest of the add-on's work at posting. The rules a transaction sees
        only change through this model's create, write and unlink, which drop
        the memo.
        """
        memo = self.env.cr.precommit.data.setdefault(ACTIVE_RULES, {})
        key = (records._name, tuple(triggers))
        if key not in memo:
            automations = super()._get_actions(records, triggers)
            memo[key] = automations.ids
            return automations
        if "__action_done" not in self.env.context:
            self = self.with_context(__action_done={})
        return self.browse(memo[key])

    def _filter_post_export_domain(self, records, feedback=False):
        """Skip the rule's domain when none of its trigger fields was written.

        Odoo evaluates the domain of a rule after every write and every stored
        recomputation of its model (posting an invoice makes about four writes
        and several recomputations), then keeps only the records whose trigger
        fields changed (``_check_trigger_fields``). When the write or the
        recomputation did not touch any trigger field, no record can be kept:
        the evaluation, which compiles the domain each time, is wasted.
        """
        old_values = self.env.context.get("old_values")
        if records and old_values is not None:
            triggers = set(self.sudo().trigger_field_ids.mapped("name"))
            if triggers and not any(
                triggers.intersection(values) for values in old_values.values()
            ):
                return records.browse(), None
        return super()._filter_post_export_domain(records, feedback=feedback)

    def _forget_active_rules(self):
        self.env.cr.precommit.data.pop(ACTIVE_RULES, None)

    # Forgotten before and after: the change may itself write records of a
    # model with rules, which would look the rules up again in between.
    @api.model_create_multi
    def create(self, vals_list):
        self._forget_active_rules()
        automations = super().create(vals_list)
        self._forget_active_rules()
        return automations

    def write(self, vals):
        self._forget_active_rules()
        result = super().write(vals)
        self._forget_active_rules()
        return result

    def unlink(self):
        self._forget_active_rules()
        result = super().unlink()
        self._forget_active_rules()
        return result
