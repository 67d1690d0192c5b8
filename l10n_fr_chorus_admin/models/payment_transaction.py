from odoo import models

from .payment_provider import MANDATE_MODE


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    def _process_notification_data(self, notification_data):
        """The customer chose the administrative mandate: nothing is paid now,
        the transaction stays pending and the mandate request is sent."""
        super()._process_notification_data(notification_data)
        if self.provider_id.custom_mode != MANDATE_MODE:
            return
        orders = self.sale_order_ids
        if not orders or any(o.chorus_payment_method != "mandate" for o in orders):
            # Only public customers ordering by mandate may choose it (the
            # checkout offers it to no one else).
            self._set_error(
                self.env._(
                    "The administrative mandate is reserved to public "
                    "administrations: choose another payment method."
                )
            )
            return
        orders.filtered(
            lambda o: o.chorus_mandate_state in ("to_request", "refused")
        )._chorus_send_mandate_request()
