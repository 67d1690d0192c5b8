"""pytest hooks shared by the add-on's tests and the system tests."""

import sys


def _odoo_module_module():
    # pytest-odoo imports Odoo; plain system tests run without touching it.
    return sys.modules.get("odoo.modules.module")


def pytest_runtest_setup(item):
    # Odoo 18 checks ``odoo.modules.module.current_test`` before sending mail or
    # committing; its own runner sets it, pytest-odoo only does so from 19.0 on.
    module = _odoo_module_module()
    instance = getattr(item, "instance", None)
    if module is not None and instance is not None:
        module.current_test = instance


def pytest_runtest_teardown(item):
    module = _odoo_module_module()
    if module is not None:
        module.current_test = None
