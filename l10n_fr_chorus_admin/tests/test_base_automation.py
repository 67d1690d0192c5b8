from unittest.mock import patch

from odoo import Command
from odoo.tests import TransactionCase, tagged

from odoo.addons.base_automation.models import base_automation


class AutomationCase(TransactionCase):
    """A partner, and rules on partners that tag its function."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.partner = cls.env["res.partner"].create({"name": "Memo Partner"})
        cls.partner_model = cls.env["ir.model"]._get("res.partner")
        # An unrelated active rule: partners' writes look the rules up, and
        # the lookup is noted before the rules change.
        cls.make_rule(name="Unrelated", filter_domain="[('name', '=', 'x')]")

    @classmethod
    def make_rule(cls, **values):
        return cls.env["base.automation"].create(
            {
                "name": values.pop("name", "Tag the partner's function"),
                "model_id": cls.partner_model.id,
                "trigger": "on_create_or_write",
                "filter_domain": "[('name', 'like', 'Memo')]",
                "action_server_ids": [
                    Command.create(
                        {
                            "name": "Tag",
                            "model_id": cls.partner_model.id,
                            "state": "code",
                            "code": "records.write({'function': 'tagged'})",
                            "usage": "base_automation",
                        }
                    )
                ],
                **values,
            }
        )

    def rename(self, name):
        self.partner.function = False
        self.partner.name = name
        return self.partner.function


@tagged("post_install", "-at_install")
class TestAutomationRuleLookup(AutomationCase):
    """The active rules are looked up once per transaction: a change of the
    rules in the transaction must be seen at the next write, as without the
    memo, and a rolled-back change must leave nothing behind."""

    def test_a_rule_created_in_the_transaction_applies_at_once(self):
        self.assertFalse(self.rename("Memo 1"), "not yet; the lookup is noted")
        rule = self.make_rule()
        self.assertEqual(self.rename("Memo 4"), "tagged", "the new rule runs")
        rule.active = False
        self.assertFalse(self.rename("Memo 5"), "switched off: not any more")
        rule.active = True
        self.assertEqual(self.rename("Memo 6"), "tagged")
        rule.filter_domain = "[('name', 'like', 'Other')]"
        self.assertFalse(self.rename("Memo 7"), "its new filter is applied")
        rule.unlink()
        self.assertFalse(self.rename("Other 8"), "deleted: gone")

    def test_a_rule_rolled_back_leaves_nothing_behind(self):
        self.rename("Memo 1")
        savepoint = self.env.cr.savepoint()
        self.make_rule()
        self.assertEqual(self.rename("Memo 2"), "tagged")
        savepoint.rollback()
        savepoint.close()
        self.env.invalidate_all()
        self.assertFalse(self.rename("Memo 3"), "the rolled-back rule is not run")

    def test_the_rules_are_looked_up_once(self):
        def queries_of_a_rename(name):
            before = self.env.cr.sql_log_count
            self.rename(name)
            self.env.flush_all()
            return self.env.cr.sql_log_count - before

        self.rename("Memo 1")
        self.env.flush_all()
        noted = queries_of_a_rename("Memo 2")
        self.env["base.automation"]._forget_active_rules()
        looked_up = queries_of_a_rename("Memo 3")
        # Once forgotten, the first of the two writes (function, name) looks
        # the rules up again; with the note, neither does.
        self.assertEqual(looked_up - noted, 1)


@tagged("post_install", "-at_install")
class TestAutomationTriggerFields(AutomationCase):
    """A rule with trigger fields: its domain is evaluated only after a write
    or a recomputation of one of them, and it runs exactly when Odoo runs it."""

    DOMAIN = "[('name', 'like', 'Memo'), ('id', '!=', 0)]"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        fields = cls.env["ir.model.fields"]
        cls.rule = cls.make_rule(
            name="On name or company",
            filter_domain=cls.DOMAIN,
            trigger_field_ids=[
                Command.set(
                    (
                        fields._get("res.partner", "name")
                        | fields._get("res.partner", "commercial_partner_id")
                    ).ids
                )
            ],
        )

    def domain_evaluations(self, change):
        """How many times the rule's domain is evaluated while ``change`` runs
        (the partner's function cleared first)."""
        self.partner.function = False
        self.env.flush_all()
        evaluated = []
        evaluate = base_automation.safe_eval.safe_eval

        def counting(expression, *args, **kwargs):
            evaluated.append(expression)
            return evaluate(expression, *args, **kwargs)

        with patch.object(base_automation.safe_eval, "safe_eval", counting):
            change()
            self.env.flush_all()
        return evaluated.count(self.DOMAIN)

    def test_a_write_of_other_fields_does_not_evaluate_the_domain(self):
        self.assertEqual(
            self.domain_evaluations(
                lambda: self.partner.write({"phone": "01 02 03 04 05"})
            ),
            0,
        )
        self.assertFalse(self.partner.function, "the rule did not run")

    def test_a_write_of_a_trigger_field_runs_the_rule(self):
        self.assertGreaterEqual(
            self.domain_evaluations(lambda: self.partner.write({"name": "Memo 2"})), 1
        )
        self.assertEqual(self.partner.function, "tagged")

    def test_a_recomputed_trigger_field_runs_the_rule(self):
        company = self.env["res.partner"].create(
            {"name": "Memo Company", "is_company": True}
        )
        self.assertGreaterEqual(
            self.domain_evaluations(
                lambda: self.partner.write({"parent_id": company.id})
            ),
            1,
        )
        self.assertEqual(self.partner.commercial_partner_id, company)
        self.assertEqual(self.partner.function, "tagged")
