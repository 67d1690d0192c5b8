"""Installing the add-on with demo data, as the demo command does."""

import ast
import sys
from pathlib import Path

from lxml import etree

ADDON = "l10n_fr_chorus_admin"
ADDON_DIR = Path(__file__).resolve().parent.parent / ADDON
if str(ADDON_DIR) not in sys.path:
    sys.path.append(str(ADDON_DIR))

from chorus_pro.sandbox import SandboxServer, fixtures  # noqa: E402

sys.path.insert(0, str(ADDON_DIR.parent / "setup"))
import run_demo  # noqa: E402

# Every Chorus Pro state the demo story shows, one invoice each.
DEMO_STATES = {
    "integrated",
    "available",
    "suspended",
    "to_recycle",
    "rejected",
    "paid",
    "payment_ordered",
    "error",
}


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
    # In French, as the demo command creates it.
    db = odoo_server.create_database(db_name, demo=True, lang=run_demo.LANG)
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
    _check_invoices_story(db)
    _check_demo_users(db)
    _check_mandate_approval(db)
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


def _check_invoices_story(db):
    """Invoices in every Chorus Pro state, a late one with interest, the
    deposit history; the demo command loads them into the sandbox, where the
    accountant can read them."""
    fields = [
        "name",
        "chorus_state",
        "chorus_status",
        "chorus_identifier",
        "chorus_flow_number",
        "chorus_status_ids",
        "chorus_days_late",
        "chorus_late_interest",
        "chorus_error",
        "payment_state",
        "activity_ids",
    ]
    moves = db.execute(
        "account.move",
        "search_read",
        [("chorus_state", "!=", False), ("move_type", "=", "out_invoice")],
        fields=fields,
    )
    by_state = {}
    for move in moves:
        by_state.setdefault(move["chorus_state"], []).append(move)
    assert DEMO_STATES <= set(by_state)
    paid = by_state["paid"][0]
    assert paid["payment_state"] in ("paid", "in_payment")
    assert paid["chorus_status"] == "MISE_EN_PAIEMENT"
    late = [m for m in by_state["available"] if m["chorus_days_late"] > 0]
    assert late and late[0]["chorus_late_interest"] > 0
    for state in ("suspended", "to_recycle", "rejected", "error"):
        assert by_state[state][0]["activity_ids"], f"an activity when {state}"
    # Written for the French readers of the invoices, though demo data loads
    # without anyone's language.
    assert "exige un code service" in by_state["error"][0]["chorus_error"]
    summaries = db.execute(
        "mail.activity",
        "search_read",
        [
            ("res_model", "=", "account.move"),
            ("res_id", "in", [m["id"] for m in moves]),
        ],
        fields=["summary"],
    )
    assert {a["summary"] for a in summaries} >= {
        "Chorus Pro : facture suspendue",
        "Chorus Pro : facture à recycler",
        "Chorus Pro : facture rejetée",
        "Chorus Pro : facture non envoyée",
    }
    suspended_messages = db.execute(
        "mail.message",
        "search_read",
        [
            ("model", "=", "account.move"),
            ("res_id", "=", by_state["suspended"][0]["id"]),
        ],
        fields=["body"],
    )
    assert any(
        "Statut Chorus Pro : Mise à disposition (MISE_A_DISPOSITION) → Suspendue"
        in m["body"]
        for m in suspended_messages
    )
    on_chorus = [m for m in moves if m["chorus_state"] != "error"]
    assert all(m["chorus_identifier"] and m["chorus_flow_number"] for m in on_chorus)
    assert all(m["chorus_status_ids"] for m in on_chorus)
    deposits = db.execute(
        "chorus.pro.deposit",
        "search_read",
        [],
        fields=["flow_number", "state", "move_ids"],
    )
    assert {d["state"] for d in deposits} == {"integrated", "partial"}
    assert max(len(d["move_ids"]) for d in deposits) > 1, "a multi-invoice flow"

    # As the demo command does: the sandbox knows the story's invoices, so the
    # accountant reads a suspended invoice's history from Chorus Pro.
    with SandboxServer(port=0) as sandbox:
        loaded = run_demo.wire_sandbox(db.name, sandbox, fixtures)
        assert loaded == len(on_chorus)
        accountant = db.as_user("comptable", "comptable")
        suspended = by_state["suspended"][0]
        accountant.execute(
            "account.move", "action_chorus_refresh_history", [suspended["id"]]
        )
        history = accountant.execute(
            "chorus.pro.invoice.status",
            "search_read",
            [("move_id", "=", suspended["id"])],
            fields=["status"],
            order="date, id",
        )
        assert [h["status"] for h in history] == [
            "DEPOSEE",
            "MISE_A_DISPOSITION",
            "SUSPENDUE",
        ]


def _check_mandate_approval(db):
    """The approver approves the signed mandate of the hospital's order: its
    invoice is posted, taxed and queued for Chorus Pro."""
    approver = db.as_user("approbateur", "approbateur")
    _model, order = db.ref(f"{ADDON}.sale_order_demo_mandate_received")
    action = approver.execute("sale.order", "action_chorus_approve_mandate", [order])
    approver.execute(
        "chorus.mandate.approval.wizard",
        "write",
        [action["res_id"]],
        {"engagement_number": "EJ-CH-2026-0200", "service_code": "PHARMACIE"},
    )
    approver.execute(
        "chorus.mandate.approval.wizard", "action_approve", [action["res_id"]]
    )
    invoices = db.execute(
        "account.move",
        "search_read",
        [("line_ids.sale_line_ids.order_id", "=", order)],
        fields=["state", "amount_tax", "chorus_state", "buyer_reference"],
    )
    assert len(invoices) == 1
    assert invoices[0]["state"] == "posted"
    assert invoices[0]["amount_tax"] > 0
    assert invoices[0]["buyer_reference"] == "PHARMACIE"
    assert invoices[0]["chorus_state"] == "to_send"


def _check_demo_users(db):
    """One user per role, logging in with the password run_demo.py prints,
    speaking French."""
    for _role, login, _what in run_demo.LOGINS:
        assert db.as_user(login, login).uid
    users = db.execute(
        "res.users",
        "search_read",
        [("login", "in", [login for _role, login, _what in run_demo.LOGINS])],
        fields=["lang"],
    )
    assert len(users) == len(run_demo.LOGINS)
    assert {user["lang"] for user in users} == {run_demo.LANG}
