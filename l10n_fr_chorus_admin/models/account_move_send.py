from odoo import api, models


class AccountMoveSend(models.AbstractModel):
    _inherit = "account.move.send"

    # "Chorus Pro" in Send & Print: the sending itself is the cron's; the
    # dialog only puts the invoices in its queue, after the same checks.

    @api.model
    def _is_applicable_to_move(self, method, move, **move_data):
        if method == "chorus_pro":
            return move._chorus_is_eligible()
        return super()._is_applicable_to_move(method, move, **move_data)

    def _get_alerts(self, moves, moves_data):
        alerts = super()._get_alerts(moves, moves_data)
        chosen = moves.filtered(
            lambda move: "chorus_pro" in moves_data[move]["sending_methods"]
        )
        if not chosen:
            return alerts
        not_public = chosen.filtered(
            lambda move: (
                move.move_type not in ("out_invoice", "out_refund")
                or not move.commercial_partner_id.chorus_is_public
            )
        )
        if not_public:
            alerts["l10n_fr_chorus_admin_not_public"] = {
                "level": "warning",
                "message": self.env._(
                    "Only customer invoices and credit notes of public "
                    "administrations go to Chorus Pro; these will not: %(moves)s. "
                    "Untick Chorus Pro for them, or tick Public administration on "
                    "their customer.",
                    moves=", ".join(not_public.mapped("name")),
                ),
                "action_text": self.env._("View Invoice(s)"),
                "action": not_public._get_records_action(
                    name=self.env._("Not for Chorus Pro")
                ),
            }
        already = (chosen - not_public).filtered(
            lambda move: move.chorus_state not in (False, "error")
        )
        if already:
            alerts["l10n_fr_chorus_admin_already_sent"] = {
                "level": "info",
                "message": self.env._(
                    "Already sent or queued for Chorus Pro, so not sent again: "
                    "%(moves)s. To correct a deposited invoice, issue a credit "
                    "note and a new invoice.",
                    moves=", ".join(already.mapped("name")),
                ),
            }
        errors = {}
        for move in chosen - not_public - already:
            move_errors = move._chorus_check_errors()
            if move_errors:
                errors[move] = move_errors
        if errors:
            alerts["l10n_fr_chorus_admin_check_errors"] = {
                # Blocking for one invoice; in a batch the others go on and these
                # stop in the error state with an activity, as when posted.
                "level": "danger" if len(chosen) == 1 else "warning",
                "message": self.env._(
                    "Chorus Pro would refuse these invoices; fix them as said, "
                    "then send them again:\n%(errors)s",
                    errors="\n".join(
                        f"{move.name}: {message}"
                        for move, messages in errors.items()
                        for message in messages
                    ),
                ),
                "action_text": self.env._("View Invoice(s)"),
                "action": self.env["account.move"]
                .union(*errors)
                ._get_records_action(name=self.env._("Invoices to fix")),
            }
        return alerts

    def _hook_if_success(self, moves_data):
        result = super()._hook_if_success(moves_data)
        chosen = [
            move
            for move, move_data in moves_data.items()
            if "chorus_pro" in move_data["sending_methods"]
        ]
        if chosen:
            self.env["account.move"].union(*chosen)._chorus_mark_to_send(manual=True)
        return result
