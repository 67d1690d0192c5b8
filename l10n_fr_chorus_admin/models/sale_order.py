import os
import re

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools.mimetypes import guess_mimetype

from ..chorus_pro.constants import ATTACHMENT_KIND_PURCHASE_ORDER, ATTACHMENT_TYPES
from ..tools import first_active_lang
from .account_move_chorus_document import attachment_file_name

MANDATE_STATES = [
    ("to_request", "To request"),
    ("requested", "Requested"),
    ("received", "Signed form received"),
    ("approved", "Approved"),
    ("refused", "Refused"),
    ("not_needed", "Not needed"),
]
# States set by the mandate's own life: a change of customer or payment method
# no longer recomputes them.
MANDATE_PROGRESS = ("requested", "received", "approved", "refused")
# Invoicing waits for the approval of the signed form in these states.
MANDATE_BLOCKING = ("to_request", "requested", "received", "refused")
# What a customer may send back: the signed form, scanned or photographed.
MANDATE_FILE_TYPES = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
}
MANDATE_MAX_BYTES = 10 * 1024 * 1024
# Tracked fields computed for every existing order at the installation.
UNTRACKED_AT_INSTALL = ("chorus_payment_method", "chorus_mandate_state")


class SaleOrder(models.Model):
    _inherit = "sale.order"

    chorus_is_public = fields.Boolean(
        related="partner_id.commercial_partner_id.chorus_is_public",
        string="Public customer",
    )
    chorus_payment_method = fields.Selection(
        [
            ("mandate", "Administrative mandate"),
            ("direct_debit", "SEPA direct debit (tripartite convention)"),
        ],
        string="Public payment mode",
        compute="_compute_chorus_payment_method",
        store=True,
        readonly=False,
        precompute=True,
        tracking=True,
        help="How the public customer pays this order: by administrative mandate "
        "(a signed purchase order, then payment by its public accountant), or by "
        "SEPA direct debit under a tripartite convention.",
    )
    chorus_mandate_state = fields.Selection(
        MANDATE_STATES,
        string="Administrative mandate",
        compute="_compute_chorus_mandate_state",
        store=True,
        readonly=False,
        precompute=True,
        copy=False,
        index=True,
        tracking=True,
    )
    chorus_engagement_number = fields.Char(
        "Engagement number",
        size=50,
        copy=False,
        tracking=True,
        compute="_compute_chorus_references",
        store=True,
        readonly=False,
        precompute=True,
        help="The buyer's legal commitment number (numéro d'engagement "
        "juridique), written on the signed form; becomes the invoice's purchase "
        "order reference.",
    )
    chorus_service_code = fields.Char(
        "Chorus Pro service",
        tracking=True,
        compute="_compute_chorus_references",
        store=True,
        readonly=False,
        precompute=True,
        help="Code of the buyer's Chorus Pro service in charge of the invoice; "
        "becomes the invoice's buyer reference.",
    )
    chorus_contract_reference = fields.Char(
        "Contract number",
        tracking=True,
        compute="_compute_chorus_references",
        store=True,
        readonly=False,
        precompute=True,
        help="The public contract (marché) this order falls under, if any.",
    )
    chorus_mandate_attachment_id = fields.Many2one(
        "ir.attachment",
        string="Signed mandate form",
        copy=False,
        readonly=True,
    )
    chorus_mandate_refusal_reason = fields.Text(
        "Mandate refusal reason", copy=False, readonly=True
    )
    chorus_renewal_type = fields.Selection(
        [("automatic", "Automatic renewal"), ("manual", "Manual renewal")],
        string="Renewal",
        copy=False,
        tracking=True,
        help="An automatic renewal of an approved mandate order needs no new "
        "mandate: it is invoiced on confirmation with the same references. A "
        "manual renewal asks the customer for a new mandate.",
    )
    chorus_renewed_order_id = fields.Many2one(
        "sale.order",
        string="Renewed order",
        copy=False,
        check_company=True,
        domain="[('partner_id', 'child_of', commercial_partner_id)]",
    )
    commercial_partner_id = fields.Many2one(
        related="partner_id.commercial_partner_id", string="Commercial entity"
    )

    def _compute_field_value(self, field):
        # The mandate fields of the orders that exist when the add-on is
        # installed get their first value: no change anyone made, so no
        # chatter message on each of them.
        if not self.pool.ready and field.name in UNTRACKED_AT_INSTALL:
            return super(
                SaleOrder, self.with_context(mail_notrack=True)
            )._compute_field_value(field)
        return super()._compute_field_value(field)

    @api.depends("partner_id")
    def _compute_chorus_payment_method(self):
        for order in self:
            order.chorus_payment_method = (
                order.partner_id.commercial_partner_id.chorus_payment_method
            )

    @api.depends("chorus_payment_method", "chorus_renewal_type")
    def _compute_chorus_mandate_state(self):
        for order in self:
            if order.chorus_mandate_state in MANDATE_PROGRESS:
                continue
            needed = (
                order.chorus_payment_method == "mandate"
                and order.chorus_renewal_type != "automatic"
            )
            order.chorus_mandate_state = "to_request" if needed else "not_needed"

    @api.depends("chorus_renewal_type", "chorus_renewed_order_id")
    def _compute_chorus_references(self):
        for order in self:
            origin = order.chorus_renewed_order_id
            if order.chorus_renewal_type == "automatic" and origin:
                # An automatic renewal is invoiced under the same commitment.
                order.chorus_engagement_number = origin.chorus_engagement_number
                order.chorus_service_code = origin.chorus_service_code
                order.chorus_contract_reference = origin.chorus_contract_reference
            else:
                order.chorus_engagement_number = order.chorus_engagement_number
                order.chorus_service_code = order.chorus_service_code
                order.chorus_contract_reference = order.chorus_contract_reference

    @api.constrains("chorus_renewal_type", "chorus_renewed_order_id", "partner_id")
    def _check_chorus_renewal(self):
        for order in self.filtered(lambda o: o.chorus_renewal_type == "automatic"):
            origin = order.chorus_renewed_order_id
            if not origin or origin._chorus_mandate_origin().chorus_mandate_state != (
                "approved"
            ):
                raise ValidationError(
                    self.env._(
                        "%(order)s is an automatic renewal: choose as Renewed "
                        "order an order whose administrative mandate is approved, "
                        "or make it a manual renewal.",
                        order=order.display_name,
                    )
                )
            if origin.commercial_partner_id != order.commercial_partner_id:
                raise ValidationError(
                    self.env._(
                        "%(order)s renews %(origin)s, an order of another "
                        "customer: choose a Renewed order of the same customer.",
                        order=order.display_name,
                        origin=origin.display_name,
                    )
                )

    # Mandate life ---------------------------------------------------------------

    def _chorus_mandate_origin(self):
        """The order whose mandate covers this one: itself, or for automatic
        renewals the first order of the chain."""
        self.ensure_one()
        order, seen = self, self.browse()
        while (
            order.chorus_renewal_type == "automatic"
            and order.chorus_renewed_order_id
            and order not in seen
        ):
            seen |= order
            order = order.chorus_renewed_order_id
        return order

    def _chorus_check_mandate_state(self, allowed):
        """Refuse an action the mandate's state (or a cancelled order) forbids."""
        states = dict(
            self._fields["chorus_mandate_state"]._description_selection(self.env)
        )
        for order in self:
            if order.state == "cancel":
                raise UserError(
                    self.env._(
                        "%(order)s is cancelled: set it back to quotation first.",
                        order=order.display_name,
                    )
                )
            if order.chorus_mandate_state not in allowed:
                raise UserError(
                    self.env._(
                        "%(order)s: not possible while its administrative mandate "
                        "is “%(state)s”. %(next)s",
                        order=order.display_name,
                        state=states.get(order.chorus_mandate_state, "-"),
                        next=order._chorus_mandate_next_step(),
                    )
                )

    def _chorus_mandate_next_step(self):
        """What to do next with the mandate of this order, by its state."""
        self.ensure_one()
        steps = {
            "to_request": self.env._(
                "Send the mandate request first (Send mandate request)."
            ),
            "requested": self.env._(
                "Wait for the signed form, or register it (Register signed form)."
            ),
            "received": self.env._(
                "Check the signed form, then approve or refuse the mandate."
            ),
            "approved": self.env._(
                "It is approved: the order is invoiced without anything more."
            ),
            "refused": self.env._(
                "Register the corrected signed form, or send the mandate request again."
            ),
        }
        return steps.get(
            self.chorus_mandate_state,
            self.env._(
                "The order needs no mandate: to ask for one, set its Public "
                "payment mode to Administrative mandate."
            ),
        )

    def _chorus_mandate_bank_account(self):
        """The company's IBAN given to public buyers for the payment."""
        self.ensure_one()
        banks = self.company_id.partner_id.bank_ids
        return banks.filtered(lambda bank: bank.acc_type == "iban")[:1] or banks[:1]

    def _chorus_mandate_services(self):
        """The buyer's active Chorus Pro services, listed on the form."""
        self.ensure_one()
        return self.commercial_partner_id.chorus_service_ids.filtered("active")

    def _chorus_mandate_report_name(self):
        """File name of the mandate form, in the language the form is written
        in (the customer's), whoever prints it."""
        self.ensure_one()
        lang = first_active_lang(self.env, self.partner_id.lang, self.env.lang)
        env = self.with_context(lang=lang).env if lang else self.env
        return env._("Administrative mandate - %(order)s", order=self.name)

    def _chorus_mandate_portal_url(self):
        self.ensure_one()
        return self.get_base_url() + self.get_portal_url(anchor="chorus_mandate")

    def action_chorus_send_mandate(self):
        """Open the e-mail composer with the mandate request and its form."""
        self.ensure_one()
        self._chorus_check_mandate_state(("to_request", "requested", "refused"))
        template = self.env.ref(
            "l10n_fr_chorus_admin.mail_template_chorus_mandate_request"
        )
        action = self.action_quotation_send()
        action["context"].update(
            {
                "default_template_id": template.id,
                "mark_so_as_sent": True,
                "chorus_mandate_request": True,
            }
        )
        return action

    def message_post(self, **kwargs):
        if self.env.context.get("chorus_mandate_request"):
            self.filtered(
                lambda o: o.chorus_mandate_state in ("to_request", "refused")
            ).write({"chorus_mandate_state": "requested"})
        return super().message_post(**kwargs)

    def _chorus_send_mandate_request(self):
        """Send the mandate request e-mail directly (portal checkout)."""
        template = self.env.ref(
            "l10n_fr_chorus_admin.mail_template_chorus_mandate_request"
        )
        for order in self:
            order._chorus_check_mandate_state(("to_request", "requested", "refused"))
            order.with_context(
                chorus_mandate_request=True
            )._send_order_notification_mail(template)
            values = {"chorus_mandate_state": "requested"}
            if order.state == "draft":
                values["state"] = "sent"
            order.write(values)

    def _send_payment_succeeded_for_order_mail(self):
        # Choosing the mandate in the portal sends the mandate request instead
        # of the "payment pending" e-mail.
        mandate_orders = self.filtered(
            lambda o: o.chorus_mandate_state in MANDATE_PROGRESS
        )
        return super(
            SaleOrder, self - mandate_orders
        )._send_payment_succeeded_for_order_mail()

    def _has_to_be_paid(self):
        # A public customer ordering by mandate pays later, on the invoice.
        if self.chorus_mandate_state in MANDATE_PROGRESS:
            return False
        return super()._has_to_be_paid()

    def _chorus_check_mandate_file(self, filename, data):
        """Raise a UserError unless ``data`` is a PDF, PNG or JPEG of 10 MB at most."""
        self.ensure_one()
        if not data:
            raise UserError(
                self.env._("The signed form file is empty: choose the file again.")
            )
        if len(data) > MANDATE_MAX_BYTES:
            raise UserError(
                self.env._(
                    "The file %(name)s is too large (%(size)s MB): the signed "
                    "form may be 10 MB at most. Scan it at a lower resolution.",
                    name=filename,
                    size=round(len(data) / 1024 / 1024, 1),
                )
            )
        mimetype = guess_mimetype(data)
        extension = os.path.splitext(filename or "")[1].lower()
        if extension not in MANDATE_FILE_TYPES.get(mimetype, ()):
            raise UserError(
                self.env._(
                    "The file %(name)s is not accepted: send the signed form as "
                    "a PDF, PNG or JPEG file.",
                    name=filename,
                )
            )
        return mimetype

    def _chorus_mandate_receive(self, filename, data, attachment=None, author=None):
        """Record the signed mandate form: attach it, move the order to
        "signed form received" and ask the salesperson to have it approved.
        Raises a UserError (and changes nothing) on a wrong file or state."""
        self.ensure_one()
        self._chorus_check_mandate_state(
            ("to_request", "requested", "received", "refused")
        )
        mimetype = self._chorus_check_mandate_file(filename, data)
        if not attachment:
            attachment = (
                self.env["ir.attachment"]
                .sudo()
                .create(
                    {
                        "name": filename,
                        "raw": data,
                        "mimetype": mimetype,
                        "res_model": self._name,
                        "res_id": self.id,
                    }
                )
            )
        self.write(
            {
                "chorus_mandate_state": "received",
                "chorus_mandate_attachment_id": attachment.id,
                "chorus_mandate_refusal_reason": False,
            }
        )
        self.message_post(
            body=self.env._("Signed administrative mandate form received."),
            attachment_ids=attachment.ids,
            author_id=author.id if author else None,
        )
        activity_type = self.env.ref(
            "l10n_fr_chorus_admin.mail_activity_chorus_mandate"
        )
        if not self.activity_ids.filtered(
            lambda a: a.activity_type_id == activity_type
        ):
            # In the salesperson's language, whoever sent the form.
            user = self.user_id or self.env.user
            lang = first_active_lang(self.env, user.lang, self.env.lang)
            order = self.with_context(lang=lang) if lang else self
            order.activity_schedule(
                "l10n_fr_chorus_admin.mail_activity_chorus_mandate",
                user_id=user.id,
                note=order.env._(
                    "Check the signed form and approve or refuse the mandate."
                ),
            )
        return attachment

    def _chorus_mandate_approve(self, engagement, service_code, contract):
        """Record the references, confirm the order, create and post its
        invoice. The caller has checked the references."""
        self.ensure_one()
        if not self.chorus_mandate_attachment_id:
            raise UserError(
                self.env._(
                    "No signed mandate form is attached to %(order)s: register "
                    "it before approving.",
                    order=self.display_name,
                )
            )
        self._chorus_check_mandate_state(("received",))
        self.write(
            {
                "chorus_mandate_state": "approved",
                "chorus_engagement_number": engagement or False,
                "chorus_service_code": service_code or False,
                "chorus_contract_reference": contract or False,
            }
        )
        self.activity_feedback(
            ["l10n_fr_chorus_admin.mail_activity_chorus_mandate"],
            feedback=self.env._("Mandate approved."),
        )
        return self._chorus_confirm_and_invoice()

    def _chorus_confirm_and_invoice(self):
        self.ensure_one()
        if self.state in ("draft", "sent"):
            self.action_confirm()
        invoices = self._create_invoices()
        self._chorus_attach_mandate(invoices)
        invoices.action_post()
        return invoices

    def _chorus_attach_mandate(self, invoices):
        """The signed mandate goes to Chorus Pro with the invoices, as a
        supporting document the buyer's accountant matches them with."""
        mandate = self.chorus_mandate_attachment_id
        extensions = ATTACHMENT_TYPES.get(mandate.mimetype)
        if not (mandate and extensions):
            return
        name = attachment_file_name(
            "Bon_de_commande_signe_" + re.sub(r"[^A-Za-z0-9_-]+", "_", self.name),
            extensions[0],
        )
        for invoice in invoices:
            invoice.chorus_attachment_ids = mandate.sudo().copy(
                {
                    "name": name,
                    "description": ATTACHMENT_KIND_PURCHASE_ORDER,
                    "res_model": invoice._name,
                    "res_id": invoice.id,
                }
            )

    def _chorus_mandate_refuse(self, reason):
        self.ensure_one()
        if not (reason or "").strip():
            raise UserError(self.env._("Give the reason of the refusal."))
        self._chorus_check_mandate_state(("requested", "received"))
        self.write(
            {"chorus_mandate_state": "refused", "chorus_mandate_refusal_reason": reason}
        )
        self.activity_feedback(
            ["l10n_fr_chorus_admin.mail_activity_chorus_mandate"],
            feedback=self.env._("Mandate refused."),
        )
        self._send_order_notification_mail(
            self.env.ref("l10n_fr_chorus_admin.mail_template_chorus_mandate_refused")
        )

    # Actions --------------------------------------------------------------------

    def _chorus_wizard_action(self, model, name):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": model,
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_id": self.id},
        }

    def action_chorus_register_mandate(self):
        return self._chorus_wizard_action(
            "chorus.mandate.upload.wizard", self.env._("Register the signed form")
        )

    def action_chorus_approve_mandate(self):
        # Saved first, so that the PDF viewer can load the signed document.
        wizard = self.env["chorus.mandate.approval.wizard"].create(
            {"order_id": self.id}
        )
        return dict(
            self._chorus_wizard_action(
                "chorus.mandate.approval.wizard", self.env._("Approve the mandate")
            ),
            res_id=wizard.id,
        )

    def action_chorus_refuse_mandate(self):
        return self._chorus_wizard_action(
            "chorus.mandate.refusal.wizard", self.env._("Refuse the mandate")
        )

    # Confirmation and invoicing ---------------------------------------------------

    def _action_confirm(self):
        res = super()._action_confirm()
        renewals = self.filtered(
            lambda o: o.chorus_renewal_type == "automatic" and o.chorus_is_public
        )
        for order in renewals:
            # No action from the customer: the invoice goes straight to Chorus Pro.
            order._create_invoices().action_post()
        return res

    def _create_invoices(self, grouped=False, final=False, date=None):
        waiting = self.filtered(lambda o: o.chorus_mandate_state in MANDATE_BLOCKING)
        if waiting:
            raise UserError(
                self.env._(
                    "%(orders)s cannot be invoiced yet: the customer's "
                    "administrative mandate is not approved (register the "
                    "signed form, then approve it).",
                    orders=", ".join(waiting.mapped("display_name")),
                )
            )
        return super()._create_invoices(grouped=grouped, final=final, date=date)

    def _prepare_invoice(self):
        values = super()._prepare_invoice()
        if self.chorus_is_public:
            values.update(
                {
                    "purchase_order_reference": self.chorus_engagement_number,
                    "buyer_reference": self.chorus_service_code,
                    "contract_reference": self.chorus_contract_reference,
                }
            )
            term = self.commercial_partner_id.property_payment_term_id
            if term:
                values["invoice_payment_term_id"] = term.id
        return values
