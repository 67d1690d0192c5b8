from . import models
from . import wizards


def uninstall_hook(env):
    """Customers sent their invoices by Chorus Pro go back to Odoo's default
    sending method, in every company (the value is stored per company)."""
    for company in env["res.company"].search([]):
        partners = (
            env["res.partner"]
            .with_company(company)
            .with_context(active_test=False)
            .search([("invoice_sending_method", "=", "chorus_pro")])
        )
        partners.write({"invoice_sending_method": False})
