import logging

import requests
from stdnum.fr import siret as stdnum_siret

from odoo import api, fields, models, tools
from odoo.exceptions import UserError, ValidationError
from odoo.tools.misc import format_date

from ..chorus_pro import ChorusProClient
from ..chorus_pro.constants import (
    MAX_FLOW_INVOICES,
    SYNTAX_CII,
    SYNTAX_FACTURX,
    SYNTAX_UBL,
)
from ..chorus_pro.exceptions import (
    ChorusProAuthError,
    ChorusProError,
    ChorusProFunctionalError,
    ChorusProRetryableError,
)

_logger = logging.getLogger(__name__)

ENVIRONMENTS = [
    ("qualification", "Qualification (tests)"),
    ("production", "Production"),
]
SYNTAX_SELECTION = [
    (SYNTAX_FACTURX, "Factur-X (PDF with CII XML)"),
    (SYNTAX_UBL, "UBL 2.1 XML"),
    (SYNTAX_CII, "UN/CEFACT CII XML"),
]
# Credential names; the field of each is chorus_<environment>_<name> and the
# key of the server configuration file that may replace it is the same.
CREDENTIALS = ("client_id", "client_secret", "login", "password")
SECRETS = ("client_secret", "password")


class ResCompany(models.Model):
    _inherit = "res.company"

    chorus_environment = fields.Selection(
        ENVIRONMENTS,
        string="Chorus Pro environment",
        default="qualification",
        required=True,
        help="Qualification is Chorus Pro's test platform; production sends real "
        "invoices to public buyers.",
    )
    # PISTE application and Chorus Pro technical user, per environment.
    chorus_qualification_client_id = fields.Char(
        "PISTE client id (qualification)", groups="base.group_system"
    )
    chorus_qualification_client_secret = fields.Char(
        "PISTE client secret (qualification)", groups="base.group_system"
    )
    chorus_qualification_login = fields.Char(
        "Technical user login (qualification)", groups="base.group_system"
    )
    chorus_qualification_password = fields.Char(
        "Technical user password (qualification)", groups="base.group_system"
    )
    chorus_production_client_id = fields.Char(
        "PISTE client id (production)", groups="base.group_system"
    )
    chorus_production_client_secret = fields.Char(
        "PISTE client secret (production)", groups="base.group_system"
    )
    chorus_production_login = fields.Char(
        "Technical user login (production)", groups="base.group_system"
    )
    chorus_production_password = fields.Char(
        "Technical user password (production)", groups="base.group_system"
    )
    chorus_base_url = fields.Char(
        "Chorus Pro URL override",
        groups="base.group_system",
        help="Leave empty to use PISTE. Set it to the address of the local Chorus "
        "Pro sandbox (demo, tests) or of a proxy; the token is asked for there too.",
    )
    chorus_syntax = fields.Selection(
        SYNTAX_SELECTION,
        string="Chorus Pro document format",
        default=SYNTAX_FACTURX,
        required=True,
        help="Format of the invoices deposited on Chorus Pro; a customer may "
        "have its own.",
    )
    chorus_invoices_per_flow = fields.Integer(
        "Invoices per Chorus Pro flow",
        default=1,
        help="1: each invoice is deposited in a flow of its own. More: the "
        "invoices sent together are deposited as one .tar.gz flow (up to this "
        "number, and 120 MB), which Chorus Pro integrates as a whole.",
    )
    chorus_structure_id = fields.Integer(
        "Own Chorus Pro structure",
        readonly=True,
        help="Chorus Pro id of the company's own structure, found by its SIRET "
        "when the connection is tested.",
    )
    chorus_password_expiry_date = fields.Date(
        "Technical password expiry",
        readonly=True,
        help="Read from Chorus Pro when the connection is tested.",
    )
    chorus_expiry_reminder_user_ids = fields.Many2many(
        "res.users",
        "res_company_chorus_expiry_reminder_rel",
        "company_id",
        "user_id",
        string="Remind of the password expiry",
        help="Users e-mailed 15 days before the technical password expires.",
    )
    chorus_followup_sync_date = fields.Datetime(
        "Last Chorus Pro status synchronisation",
        readonly=True,
        copy=False,
        help="The next follow-up asks Chorus Pro for the invoices whose status "
        "changed since then.",
    )

    # Credentials ------------------------------------------------------------

    @api.constrains("chorus_invoices_per_flow")
    def _check_chorus_invoices_per_flow(self):
        for company in self:
            if not 1 <= company.chorus_invoices_per_flow <= MAX_FLOW_INVOICES:
                raise ValidationError(
                    self.env._(
                        "Set Invoices per Chorus Pro flow (Settings > Invoicing > "
                        "Chorus Pro) from 1 (a flow per invoice) to %(max)s.",
                        max=MAX_FLOW_INVOICES,
                    )
                )

    def _chorus_credential(self, environment, name):
        """One credential: the server configuration file wins over the database,
        so that secrets need never be stored in the database."""
        self.ensure_one()
        key = f"chorus_{environment}_{name}"
        return tools.config.get(key) or self.sudo()[key] or ""

    def _chorus_missing_credentials(self, environment=None):
        self.ensure_one()
        environment = environment or self.chorus_environment
        labels = {
            "client_id": self.env._("PISTE client id"),
            "client_secret": self.env._("PISTE client secret"),
            "login": self.env._("technical user login"),
            "password": self.env._("technical user password"),
        }
        return [
            labels[name]
            for name in CREDENTIALS
            if not self._chorus_credential(environment, name)
        ]

    def _chorus_environment_label(self, environment=None):
        """The environment's name in the user's language."""
        self.ensure_one()
        labels = dict(
            self._fields["chorus_environment"]._description_selection(self.env)
        )
        return labels[environment or self.chorus_environment]

    def _chorus_configuration_error(self, environment=None):
        """What the company lacks to talk to Chorus Pro, as a message saying
        where to set it; False when nothing is missing."""
        self.ensure_one()
        environment = environment or self.chorus_environment
        missing = self._chorus_missing_credentials(environment)
        if not missing:
            return False
        return self.env._(
            "Chorus Pro is not configured for %(company)s (%(environment)s):"
            " %(missing)s missing. An administrator sets them in Invoicing"
            " > Configuration > Settings > Chorus Pro, or in the server"
            " configuration file.",
            company=self.name,
            environment=self._chorus_environment_label(environment),
            missing=", ".join(missing),
        )

    def _chorus_client(self):
        """A client for this company's current environment."""
        self.ensure_one()
        environment = self.chorus_environment
        error = self._chorus_configuration_error(environment)
        if error:
            raise UserError(error)
        return ChorusProClient(
            *(self._chorus_credential(environment, name) for name in CREDENTIALS),
            environment=environment,
            base_url=self.sudo().chorus_base_url or None,
        )

    @api.model
    def _chorus_error_detail(self, error):
        """The technical cause of a client error, for the user's message: what
        PISTE or Chorus Pro answered, or what the network did (the client's
        own English text goes to the log)."""
        if isinstance(error, ChorusProAuthError) and error.reason:
            return str(error.reason)
        if error.http_status:
            return f"HTTP {error.http_status}"
        cause = error.__cause__
        if isinstance(cause, requests.exceptions.Timeout):
            return self.env._("no answer in time")
        if isinstance(cause, requests.exceptions.RequestException):
            return self.env._("connection failed")
        return self.env._("unexpected answer")

    @api.model
    def _chorus_user_error(self, error):
        """A translated message telling the user what went wrong and what to do."""
        reason = self._chorus_error_detail(error)
        if isinstance(error, ChorusProAuthError):
            return self.env._(
                "Chorus Pro refused the connection (%(reason)s). An administrator "
                "checks the PISTE client id and secret and the technical user's "
                "login and password (Settings > Invoicing > Chorus Pro, Test "
                "connection), and "
                "that the Chorus Pro APIs are subscribed for the PISTE application.",
                reason=reason,
            )
        if isinstance(error, ChorusProRetryableError):
            return self.env._(
                "Chorus Pro cannot be reached right now (%(reason)s). Try again later.",
                reason=reason,
            )
        if isinstance(error, ChorusProFunctionalError):
            return self.env._(
                "Chorus Pro refused the request: %(label)s (code %(code)s). Correct "
                "what it names, then try again.",
                label=error.label,
                code=error.code,
            )
        return self.env._(
            "Chorus Pro error: %(reason)s. Try again; if it happens again, give "
            "this message to your administrator.",
            reason=reason,
        )

    # Actions ----------------------------------------------------------------

    def action_chorus_test_connection(self):
        """Token, health check and look-up of the company's own SIRET."""
        self.ensure_one()
        siret = (self.siret or "").replace(" ", "")
        if not stdnum_siret.is_valid(siret):
            raise UserError(
                self.env._(
                    "Set a valid SIRET on the company %(company)s first (Settings > "
                    "Users & Companies > Companies): Chorus Pro identifies "
                    "suppliers by it.",
                    company=self.name,
                )
            )
        client = self._chorus_client()
        try:
            client.health_check()
            structure = client.find_structure(siret)
            if not structure:
                raise UserError(
                    self.env._(
                        "The connection works, but Chorus Pro knows no structure "
                        "with the SIRET %(siret)s. Create the company's structure "
                        "on Chorus Pro, or correct the SIRET.",
                        siret=siret,
                    )
                )
            details = client.get_structure(structure["idStructureCPP"])
        except ChorusProError as error:
            raise UserError(self._chorus_user_error(error)) from error
        expiry = (details.get("informationGenerales") or {}).get(
            "dateExpirationMotPasseCompteTech"
        )
        self.write(
            {
                "chorus_structure_id": structure["idStructureCPP"],
                "chorus_password_expiry_date": fields.Date.to_date(expiry[:10])
                if expiry
                else False,
            }
        )
        message = self.env._(
            "Connected to Chorus Pro (%(environment)s). Structure of SIRET "
            "%(siret)s: %(structure)s.",
            environment=self._chorus_environment_label(),
            siret=siret,
            structure=structure["idStructureCPP"],
        )
        if self.chorus_password_expiry_date:
            message += " " + self.env._(
                "The technical password expires on %(date)s.",
                date=format_date(self.env, self.chorus_password_expiry_date),
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Chorus Pro"),
                "message": message,
                "type": "success",
                "sticky": False,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    # Crons ------------------------------------------------------------------

    @api.model
    def _cron_chorus_password_expiry_reminder(self, days_before=15):
        """E-mail the chosen users when the technical password expires in
        ``days_before`` days (once, on that day)."""
        reminder_day = fields.Date.add(
            fields.Date.context_today(self), days=days_before
        )
        template = self.env.ref(
            "l10n_fr_chorus_admin.mail_template_chorus_password_expiry",
            raise_if_not_found=False,
        )
        if not template:
            return
        companies = self.search(
            [
                ("chorus_password_expiry_date", "=", reminder_day),
                ("chorus_expiry_reminder_user_ids", "!=", False),
            ]
        )
        for company in companies:
            for user in company.chorus_expiry_reminder_user_ids:
                template.with_context(lang=user.lang, chorus_user=user).send_mail(
                    company.id,
                    email_values={"recipient_ids": [(6, 0, user.partner_id.ids)]},
                )
            _logger.info(
                "Chorus Pro password expiry reminder sent for company %s", company.id
            )
