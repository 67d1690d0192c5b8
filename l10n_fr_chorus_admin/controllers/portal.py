from werkzeug.exceptions import Forbidden

from odoo import http
from odoo.exceptions import AccessError, MissingError, UserError
from odoo.http import request

from odoo.addons.sale.controllers.portal import CustomerPortal

SESSION_KEY = "chorus_mandate_message"


class ChorusMandatePortal(CustomerPortal):
    def _chorus_order(self, order_id, access_token):
        try:
            return self._document_check_access(
                "sale.order", order_id, access_token=access_token
            )
        except (AccessError, MissingError) as error:
            raise Forbidden(
                request.env._(
                    "You have no access to this order: open it from the link of "
                    "our e-mail, or sign in with the account it was sent to."
                )
            ) from error

    @http.route(
        "/my/orders/<int:order_id>/chorus_mandate/form",
        type="http",
        auth="public",
        website=True,
    )
    def portal_chorus_mandate_form(self, order_id, access_token=None, **kw):
        """The administrative mandate form to sign, as a PDF."""
        order_sudo = self._chorus_order(order_id, access_token)
        return self._show_report(
            model=order_sudo,
            report_type="pdf",
            report_ref="l10n_fr_chorus_admin.action_report_chorus_mandate",
            download=True,
        )

    @http.route(
        "/my/orders/<int:order_id>/chorus_mandate",
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
    )
    def portal_chorus_mandate_upload(self, order_id, access_token=None, **kw):
        """The customer sends the signed form back (PDF, PNG or JPEG)."""
        order_sudo = self._chorus_order(order_id, access_token)
        upload = request.httprequest.files.get("signed_form")
        author = (
            order_sudo.partner_id
            if request.env.user._is_public()
            else request.env.user.partner_id
        )
        try:
            with request.env.cr.savepoint():
                order_sudo._chorus_mandate_receive(
                    upload.filename if upload else "",
                    upload.read() if upload else b"",
                    author=author,
                )
        except UserError as error:
            request.session[SESSION_KEY] = {"error": True, "text": str(error)}
        else:
            request.session[SESSION_KEY] = {
                "error": False,
                "text": request.env._(
                    "Thank you: your signed form has been received. We will "
                    "check it and send you the invoice through Chorus Pro."
                ),
            }
        return request.redirect(
            order_sudo.get_portal_url(anchor="chorus_mandate")
            if access_token
            else f"/my/orders/{order_sudo.id}#chorus_mandate"
        )

    @http.route()
    def portal_order_page(self, order_id, *args, **kw):
        response = super().portal_order_page(order_id, *args, **kw)
        message = request.session.pop(SESSION_KEY, None)
        if message and hasattr(response, "qcontext"):
            response.qcontext["chorus_mandate_message"] = message
        return response
