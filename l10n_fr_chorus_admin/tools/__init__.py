import threading

from odoo.modules import module
from odoo.tools import config


def can_commit(env):
    """Whether a cron may commit its work so far: never under any test runner
    (Odoo's, or pytest-odoo, which sets only some of these flags)."""
    return not (
        config["test_enable"]
        or module.current_test
        or getattr(threading.current_thread(), "testing", False)
        or env.registry.in_test_mode()
    )


def first_active_lang(env, *codes):
    """The first of ``codes`` that is an active language of the database, or
    None (a user's or partner's language may have been deactivated since)."""
    for code in codes:
        if code and env["res.lang"]._get_data(code=code):
            return code
    return None
