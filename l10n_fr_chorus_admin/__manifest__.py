# License AGPL-3.0 or later (https://www.gnu.org/licenses/agpl.html).
{
    "name": "Chorus Pro for suppliers of the French public sector",
    "summary": "Administrative mandates, automatic Chorus Pro transmission, "
    "status follow-up and legal payment delays",
    "version": "18.0.1.0.0",
    "category": "Accounting/Localizations/EDI",
    "license": "AGPL-3",
    "author": "l10n_fr_chorus_admin contributors",
    "website": "https://github.com/l10n-fr-chorus-admin/l10n_fr_chorus_admin",
    "development_status": "Alpha",
    "countries": ["fr"],
    "depends": [
        "sale_management",
        "account",
        "l10n_fr_account",
        "account_edi_ubl_cii",
        "l10n_fr_facturx_chorus_pro",
        "base_automation",
        "payment_custom",
        "portal",
    ],
    "external_dependencies": {
        "python": [
            "requests",
            "lxml",
            "factur-x",
            "saxonche",
            "python-stdnum",
        ],
    },
    "data": [
        "security/chorus_pro_security.xml",
        "security/ir.model.access.csv",
        "security/chorus_pro_rules.xml",
        "data/account_payment_term_data.xml",
        "data/ir_cron_data.xml",
        "data/mail_template_data.xml",
        "views/res_partner_views.xml",
        "views/chorus_pro_service_views.xml",
        "views/res_config_settings_views.xml",
    ],
    "demo": [
        "demo/chorus_pro_demo.xml",
    ],
    "uninstall_hook": "uninstall_hook",
    "installable": True,
    "application": False,
}
