from odoo.tests import new_test_user, tagged

from odoo.addons.base.tests.common import BaseCommon


@tagged("post_install", "-at_install")
class TestChorusGroups(BaseCommon):
    def test_accounting_roles_imply_chorus_groups(self):
        billing = new_test_user(
            self.env, "chorus_billing", "account.group_account_invoice"
        )
        manager = new_test_user(
            self.env, "chorus_manager", "account.group_account_manager"
        )
        salesman = new_test_user(
            self.env, "chorus_salesman", "sales_team.group_sale_salesman"
        )
        self.assertTrue(billing.has_group("l10n_fr_chorus_admin.group_chorus_user"))
        self.assertFalse(billing.has_group("l10n_fr_chorus_admin.group_chorus_manager"))
        self.assertTrue(manager.has_group("l10n_fr_chorus_admin.group_chorus_manager"))
        self.assertFalse(salesman.has_group("l10n_fr_chorus_admin.group_chorus_user"))

    def test_the_user_form_shows_the_groups_outside_developer_mode(self):
        """Odoo's user form shows a category's groups outside developer mode
        only when they form one chain (a selection): Chorus Pro (User,
        Administrator) beside Invoicing, the mandate approvers beside Sales."""
        kinds = {
            app: (kind, category)
            for app, kind, _groups, category in self.env[
                "res.groups"
            ].get_groups_by_application()
        }
        chorus = self.env.ref("l10n_fr_chorus_admin.module_category_chorus_pro")
        mandate = self.env.ref("l10n_fr_chorus_admin.module_category_chorus_mandate")
        self.assertEqual(kinds[chorus][0], "selection")
        self.assertEqual(kinds[chorus][1][1], "Accounting")
        self.assertEqual(kinds[mandate][0], "selection")
        self.assertEqual(kinds[mandate][1][1], "Sales")
