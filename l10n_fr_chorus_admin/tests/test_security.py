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
