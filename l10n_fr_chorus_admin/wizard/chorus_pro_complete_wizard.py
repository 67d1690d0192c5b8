import base64

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_date

from ..chorus_pro import constants
from ..chorus_pro import statuses as st
from ..chorus_pro.exceptions import ChorusProError
from ..models.account_move_chorus_followup import ACTIVITY_SUSPENDED


class ChorusProCompleteWizard(models.TransientModel):
    """Answer a suspension: a comment and the missing documents go to Chorus
    Pro, and a new payment period starts."""

    _name = "chorus.pro.complete.wizard"
    _description = "Complete a suspended invoice on Chorus Pro"

    move_id = fields.Many2one(
        "account.move", string="Invoice", required=True, readonly=True
    )
    suspension_reason = fields.Text(
        related="move_id.chorus_status_comment", string="Reason of the suspension"
    )
    comment = fields.Text(required=True, help="What you answer to the buyer.")
    attachment_ids = fields.Many2many(
        "ir.attachment",
        string="Documents",
        help="Files sent with the completion (under 10 MB each, names of 50 "
        "characters at most).",
    )

    @api.model
    def _check_attachment(self, attachment):
        errors = []
        if attachment.file_size >= constants.MAX_ATTACHMENT_BYTES:
            errors.append(
                self.env._(
                    "%(name)s is too large: Chorus Pro accepts files under 10 MB. "
                    "Compress it, or split it into several files.",
                    name=attachment.name,
                )
            )
        if len(attachment.name or "") > constants.MAX_ATTACHMENT_NAME or "." not in (
            attachment.name or ""
        ):
            errors.append(
                self.env._(
                    "%(name)s: Chorus Pro needs a file name of %(max)s characters "
                    "at most, with its extension. Rename it.",
                    name=attachment.name,
                    max=constants.MAX_ATTACHMENT_NAME,
                )
            )
        return errors

    def action_complete(self):
        self.ensure_one()
        move = self.move_id
        move.check_access("write")
        if move.chorus_state != "suspended" or not move.chorus_identifier:
            raise UserError(
                self.env._(
                    "Only an invoice suspended on Chorus Pro can be completed: "
                    "reload the invoice to see its current Chorus Pro status."
                )
            )
        comment = (self.comment or "").strip()
        if not comment:
            raise UserError(self.env._("Write a comment for the buyer."))
        errors = []
        for attachment in self.attachment_ids:
            errors += self._check_attachment(attachment)
        if errors:
            raise UserError("\n".join(errors))
        try:
            client = move.company_id._chorus_client()
            ids = [
                client.attach_file(
                    base64.b64decode(attachment.sudo().datas or b""),
                    attachment.name,
                    attachment.mimetype,
                )["pieceJointeId"]
                for attachment in self.attachment_ids
            ]
            answer = client.complete_invoice(int(move.chorus_identifier), comment, ids)
        except ChorusProError as error:
            raise UserError(move.company_id._chorus_user_error(error)) from error
        day = fields.Date.to_date((answer.get("dateTraitement") or "")[:10] or None)
        day = day or fields.Date.context_today(self)
        # What Chorus Pro accepted is recorded whatever the user's rights on
        # the status history (written by the follow-up, read-only to users);
        # the user's right to change the invoice was checked above.
        move.sudo().write(
            {
                "chorus_status": st.INVOICE_COMPLETED,
                "chorus_status_date": fields.Datetime.now(),
                "chorus_status_comment": comment,
                "chorus_state": "available",
                "chorus_status_ids": [
                    fields.Command.create(
                        {
                            "status": st.INVOICE_COMPLETED,
                            "date": fields.Datetime.now(),
                            "comment": comment,
                        }
                    )
                ],
            }
        )
        move._chorus_restart_period(day)
        if self.attachment_ids:
            self.attachment_ids.filtered(lambda a: not a.res_id).write(
                {"res_model": "account.move", "res_id": move.id}
            )
        move.message_post(
            body=self.env._(
                "Completed on Chorus Pro: %(comment)s (%(count)s document(s)). "
                "New legal due date: %(due)s.",
                comment=comment,
                count=len(self.attachment_ids),
                due=format_date(self.env, move.chorus_legal_due_date) or "-",
            )
        )
        move._chorus_done_activities(
            ACTIVITY_SUSPENDED,
            self.env._("Completed on Chorus Pro."),
        )
        return {"type": "ir.actions.act_window_close"}
