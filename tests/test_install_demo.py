"""Installing the add-on with demo data, as the demo command does."""

import ast
import sys
from pathlib import Path

from lxml import etree

ADDON = "l10n_fr_chorus_admin"
ADDON_DIR = Path(__file__).resolve().parent.parent / ADDON
if str(ADDON_DIR) not in sys.path:
    sys.path.append(str(ADDON_DIR))

from chorus_pro.sandbox import SandboxServer  # noqa: E402


def _declared_demo_xmlids():
    """Every record id the manifest's demo files declare."""
    manifest = ast.literal_eval((ADDON_DIR / "__manifest__.py").read_text())
    xmlids = []
    for demo_file in manifest.get("demo", []):
        tree = etree.parse(str(ADDON_DIR / demo_file))
        for node in tree.iter("record", "template", "menuitem", "function"):
            xmlid = node.get("id")
            if xmlid:
                xmlids.append(xmlid if "." in xmlid else f"{ADDON}.{xmlid}")
    return xmlids


def test_install_with_demo_data(odoo_server, db_name):
    db = odoo_server.create_database(db_name, demo=True)
    db.install(ADDON)
    assert db.module_state(ADDON) == "installed"
    demo = db.execute(
        "ir.module.module", "search_read", [("name", "=", ADDON)], fields=["demo"]
    )
    assert demo[0]["demo"], "the add-on was installed with its demo data"

    declared = _declared_demo_xmlids()
    assert declared, "the add-on ships demo data"
    missing = [xmlid for xmlid in declared if db.ref(xmlid) == (None, None)]
    assert missing == []
    for xmlid in declared:
        model, res_id = db.ref(xmlid)
        assert db.execute(model, "search_count", [("id", "=", res_id)]) == 1, xmlid
    _check_public_customers_story(db)
    assert odoo_server.log_problems() == []


def _check_public_customers_story(db):
    """Demo public customers of each category, wired to the sandbox."""
    public = db.execute(
        "res.partner",
        "search_read",
        [("chorus_is_public", "=", True), ("is_company", "=", True)],
        fields=[
            "name",
            "chorus_buyer_category",
            "chorus_requirement",
            "chorus_max_payment_days",
            "invoice_sending_method",
            "chorus_payment_method",
        ],
    )
    categories = {partner["chorus_buyer_category"] for partner in public}
    assert {"state", "local", "health", "public_undertaking"} <= categories
    requirements = {partner["chorus_requirement"] for partner in public}
    assert requirements == {
        "none",
        "service",
        "engagement",
        "service_and_engagement",
        "service_or_engagement",
    }
    assert all(p["invoice_sending_method"] == "chorus_pro" for p in public)
    assert {p["chorus_payment_method"] for p in public} == {"mandate", "direct_debit"}
    hospital = next(p for p in public if p["chorus_buyer_category"] == "health")
    assert hospital["chorus_max_payment_days"] == 50

    # "Look up on Chorus Pro" works against the sandbox the demo data points to
    # (here on a free port rather than the demo's 8899).
    with SandboxServer(port=0) as sandbox:
        _model, company = db.ref("base.main_company")
        company = [company]
        db.execute("res.company", "write", company, {"chorus_base_url": sandbox.url})
        _model, town_hall = db.ref(f"{ADDON}.partner_demo_town_hall")
        action = db.execute("res.partner", "action_chorus_lookup", [town_hall])
        assert action["params"]["type"] == "success"
        action = db.execute("res.company", "action_chorus_test_connection", company)
        assert action["params"]["type"] == "success"
    services = db.execute(
        "chorus.pro.service",
        "search_read",
        [("partner_id", "=", town_hall)],
        fields=["code"],
    )
    assert len(services) == 10
