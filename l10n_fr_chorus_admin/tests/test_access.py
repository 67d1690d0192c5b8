import json

from lxml import etree

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger
from odoo.tools.safe_eval import safe_eval

SECRETS = [
    "chorus_qualification_client_secret",
    "chorus_qualification_password",
    "chorus_production_client_secret",
    "chorus_production_password",
]


@tagged("post_install", "-at_install")
class TestChorusAccess(HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.write(
            {
                "chorus_qualification_client_secret": "top-secret",
                "chorus_qualification_password": "top-password",
            }
        )
        cls.salesman = new_test_user(
            cls.env, "chorus_sales", "sales_team.group_sale_salesman_all_leads"
        )
        cls.accountant = new_test_user(
            cls.env, "chorus_accountant", "account.group_account_manager"
        )
        cls.administrator = new_test_user(
            cls.env, "chorus_sysadmin", "base.group_system"
        )

    def _rpc(self, login, model, method, args, kwargs=None):
        user = self.env["res.users"].search([("login", "=", login)])
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {
                "service": "object",
                "method": "execute_kw",
                "args": [
                    self.env.cr.dbname,
                    user.id,
                    login,
                    model,
                    method,
                    args,
                    kwargs or {},
                ],
            },
        }
        # The server logs the refusals it answers at WARNING level.
        with mute_logger("odoo.http"):
            response = self.url_open(
                "/jsonrpc",
                data=json.dumps(payload),
                headers={"Content-Type": "application/json"},
            )
        return response.json()

    def test_secrets_hidden_from_salespeople_and_accountants_in_the_orm(self):
        for user in (self.salesman, self.accountant):
            with self.subTest(user=user.login):
                company = self.company.with_user(user)
                for field in SECRETS:
                    with self.assertRaises(AccessError):
                        company.read([field])
                    with self.assertRaises(AccessError):
                        company.write({field: "changed"})
                    with self.assertRaises(AccessError):
                        company.search([(field, "=", "top-secret")])
        self.assertEqual(self.company.chorus_qualification_client_secret, "top-secret")
        values = self.company.with_user(self.administrator).read(SECRETS)[0]
        self.assertEqual(values["chorus_qualification_password"], "top-password")

    def test_secrets_hidden_over_rpc(self):
        for login in ("chorus_sales", "chorus_accountant"):
            with self.subTest(login=login):
                answer = self._rpc(
                    login,
                    "res.company",
                    "read",
                    [[self.company.id]],
                    {"fields": ["chorus_qualification_client_secret"]},
                )
                self.assertIn("error", answer)
                self.assertIn("AccessError", answer["error"]["data"]["name"])
                answer = self._rpc(
                    login,
                    "res.company",
                    "write",
                    [[self.company.id], {"chorus_qualification_password": "x"}],
                )
                self.assertIn("error", answer)
                # Reading the whole record does not leak them either.
                answer = self._rpc(login, "res.company", "read", [[self.company.id]])
                self.assertNotIn(
                    "chorus_qualification_client_secret", answer["result"][0]
                )
        self.assertEqual(self.company.chorus_qualification_password, "top-password")
        answer = self._rpc(
            "chorus_sysadmin",
            "res.company",
            "read",
            [[self.company.id]],
            {"fields": ["chorus_qualification_client_secret"]},
        )
        self.assertEqual(
            answer["result"][0]["chorus_qualification_client_secret"], "top-secret"
        )

    def test_other_company_services_are_invisible(self):
        other = self.env["res.company"].create({"name": "Other company"})
        partner = self.env["res.partner"].create(
            {"name": "Other buyer", "is_company": True, "company_id": other.id}
        )
        service = self.env["chorus.pro.service"].create(
            {"partner_id": partner.id, "code": "DSI", "chorus_id": 7}
        )
        self.assertEqual(service.company_id, other)
        Service = self.env["chorus.pro.service"].with_user(self.accountant)
        self.assertFalse(Service.search([("id", "=", service.id)]))
        with self.assertRaises(AccessError):
            Service.browse(service.id).read(["code"])
        # Shared buyers' services stay visible to every company.
        shared = self.env["res.partner"].create({"name": "Shared", "is_company": True})
        shared_service = self.env["chorus.pro.service"].create(
            {"partner_id": shared.id, "code": "ACCUEIL", "chorus_id": 8}
        )
        self.assertTrue(Service.search([("id", "=", shared_service.id)]))

    def test_only_chorus_administrators_edit_services(self):
        partner = self.env["res.partner"].create({"name": "Buyer", "is_company": True})
        service = self.env["chorus.pro.service"].create(
            {"partner_id": partner.id, "code": "DSI", "chorus_id": 9}
        )
        with self.assertRaises(AccessError):
            service.with_user(self.salesman).write({"code": "X"})
        service.with_user(self.accountant).write({"name": "Renamed"})
        self.assertEqual(service.name, "Renamed")

    def test_billing_users_keep_the_ecb_rates(self):
        """Billing users claim the late-payment interest: they find the ECB
        rates in their menus and add or correct them; deleting one is for
        billing administrators; other employees only read them."""
        billing = new_test_user(
            self.env, "chorus_ecb_billing", "account.group_account_invoice"
        )
        menu = self.env.ref("l10n_fr_chorus_admin.menu_chorus_ecb_rate")
        Menu = self.env["ir.ui.menu"]
        for user, visible in (
            (billing, True),
            (self.accountant, True),
            (self.salesman, False),
        ):
            with self.subTest(user=user.login):
                self.assertEqual(
                    menu.id in Menu.with_user(user)._visible_menu_ids(), visible
                )
        rate = (
            self.env["chorus.ecb.rate"]
            .with_user(billing)
            .create({"date_from": "2099-01-01", "rate": 2.15})
        )
        rate.write({"rate": 2.4})
        self.assertEqual(rate.sudo().rate, 2.4)
        with self.assertRaises(AccessError):
            rate.unlink()
        self.assertEqual(rate.with_user(self.salesman).rate, 2.4)
        with self.assertRaises(AccessError):
            rate.with_user(self.salesman).write({"rate": 3.0})
        with self.assertRaises(AccessError):
            self.env["chorus.ecb.rate"].with_user(self.salesman).create(
                {"date_from": "2099-07-01", "rate": 1.0}
            )
        rate.with_user(self.accountant).unlink()
        self.assertFalse(rate.exists())

    def test_chorus_identifiers_are_shown_without_thousands_separators(self):
        """Chorus Pro ids (e.g. 25000201) are identifiers, not quantities: no
        view formats them as numbers ("25,000,201")."""
        identifiers = {
            "res.partner": ["chorus_structure_id"],
            "res.config.settings": ["chorus_structure_id"],
            "chorus.pro.service": ["chorus_id"],
        }
        for model, fields in identifiers.items():
            views = self.env[model].get_views([(False, "list"), (False, "form")])
            for name in fields:
                nodes = [
                    (view_type, node)
                    for view_type, view in views["views"].items()
                    for node in etree.fromstring(view["arch"]).iter("field")
                    if node.get("name") == name
                ]
                self.assertTrue(nodes, f"{model}.{name} is in no view")
                for view_type, node in nodes:
                    with self.subTest(model=model, view=view_type, field=name):
                        options = safe_eval(node.get("options") or "{}")
                        self.assertIs(options.get("enable_formatting"), False)
