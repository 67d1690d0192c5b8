"""Installing the add-on into a database that is already in use.

A French company runs Sales and Accounting with customers, a confirmed order
and a posted invoice; the administrator then installs the add-on, later
uninstalls it and installs it again. Nothing that existed may change, and
everything must go on working at each stage.
"""

ADDON = "l10n_fr_chorus_admin"

PARTNER_FIELDS = [
    "name",
    "is_company",
    "email",
    "vat",
    "street",
    "city",
    "zip",
    "country_id",
    "property_payment_term_id",
    "property_account_receivable_id",
    "invoice_sending_method",
]
ORDER_FIELDS = [
    "name",
    "state",
    "partner_id",
    "amount_untaxed",
    "amount_tax",
    "amount_total",
    "invoice_status",
    "payment_term_id",
    "invoice_ids",
]
INVOICE_FIELDS = [
    "name",
    "state",
    "move_type",
    "partner_id",
    "invoice_date",
    "invoice_date_due",
    "amount_untaxed",
    "amount_total",
    "amount_residual",
    "payment_state",
    "invoice_origin",
    "ref",
]


def _setup_company_in_use(db):
    """A company that sells and invoices, with history, before the add-on."""
    customer = db.execute(
        "res.partner",
        "create",
        {
            "name": "Cabinet Durand",
            "is_company": True,
            "email": "compta@durand.example",
            "street": "3 rue des Lilas",
            "city": "Lyon",
            "zip": "69003",
            "country_id": db.ref("base.fr")[1],
        },
    )
    db.execute(
        "res.partner",
        "create",
        {"name": "Mme Durand", "parent_id": customer, "type": "invoice"},
    )
    product = db.execute(
        "product.product",
        "create",
        {"name": "Hébergement annuel", "list_price": 1200.0, "type": "service"},
    )
    order = db.execute(
        "sale.order",
        "create",
        {
            "partner_id": customer,
            "order_line": [[0, 0, {"product_id": product, "product_uom_qty": 2}]],
        },
    )
    db.execute("sale.order", "action_confirm", [order])
    invoice = _invoice_order(db, order)
    return customer, order, invoice


def _invoice_order(db, order):
    """Invoice a confirmed order with the wizard of the order form, and post."""
    context = {"active_model": "sale.order", "active_ids": [order]}
    wizard = db.execute(
        "sale.advance.payment.inv",
        "create",
        {"advance_payment_method": "delivered"},
        context=context,
    )
    db.execute("sale.advance.payment.inv", "create_invoices", [wizard], context=context)
    invoice = db.execute("sale.order", "read", [order], fields=["invoice_ids"])
    invoice = invoice[0]["invoice_ids"][-1]
    db.execute("account.move", "action_post", [invoice])
    return invoice


def _snapshot(db, customer, order, invoice):
    def read(model, record_id, fields):
        return db.execute(model, "read", [record_id], fields=fields)[0]

    lines = db.execute(
        "account.move.line",
        "search_read",
        [("move_id", "=", invoice)],
        fields=["account_id", "debit", "credit", "tax_ids", "name"],
        order="id",
    )
    # Nothing written in their chatter either (the add-on's tracked fields
    # get their first value on every record).
    messages = db.execute(
        "mail.message",
        "search_read",
        [
            "|",
            "&",
            ("model", "=", "sale.order"),
            ("res_id", "=", order),
            "&",
            ("model", "=", "account.move"),
            ("res_id", "=", invoice),
        ],
        fields=["id"],
    )
    return {
        "partner": read("res.partner", customer, PARTNER_FIELDS),
        "order": read("sale.order", order, ORDER_FIELDS),
        "invoice": read("account.move", invoice, INVOICE_FIELDS),
        "lines": lines,
        "messages": sorted(message["id"] for message in messages),
    }


def _check_still_usable(db, customer, invoice):
    """The day-to-day work goes on: a new order invoiced, the old one paid."""
    product = db.execute(
        "product.product",
        "create",
        {"name": "Maintenance", "list_price": 300.0, "type": "service"},
    )
    order = db.execute(
        "sale.order",
        "create",
        {
            "partner_id": customer,
            "order_line": [[0, 0, {"product_id": product, "product_uom_qty": 1}]],
        },
    )
    db.execute("sale.order", "action_confirm", [order])
    new_invoice = _invoice_order(db, order)
    posted = db.execute("account.move", "read", [new_invoice], fields=["state"])
    assert posted[0]["state"] == "posted"

    context = {"active_model": "account.move", "active_ids": [invoice]}
    wizard = db.execute("account.payment.register", "create", {}, context=context)
    db.execute(
        "account.payment.register",
        "action_create_payments",
        [wizard],
        context=context,
    )
    paid = db.execute("account.move", "read", [invoice], fields=["payment_state"])
    assert paid[0]["payment_state"] in ("paid", "in_payment")


def _invoice_public_customer(db):
    customer = db.execute(
        "res.partner",
        "create",
        {
            "name": "Mairie de Test",
            "is_company": True,
            "chorus_is_public": True,
            "chorus_buyer_category": "local",
        },
    )
    values = db.execute(
        "res.partner",
        "read",
        [customer],
        fields=["invoice_sending_method", "property_payment_term_id"],
    )[0]
    assert values["invoice_sending_method"] == "chorus_pro"
    assert values["property_payment_term_id"][1] == "30 days (public buyer)"
    product = db.execute(
        "product.product", "create", {"name": "Audit", "list_price": 500.0}
    )
    invoice = db.execute(
        "account.move",
        "create",
        {
            "move_type": "out_invoice",
            "partner_id": customer,
            "invoice_line_ids": [[0, 0, {"product_id": product, "quantity": 1}]],
        },
    )
    db.execute("account.move", "action_post", [invoice])
    return customer, invoice


def _check_public_customer_after_uninstall(db, customer, invoice):
    partner = db.execute(
        "res.partner", "read", [customer], fields=["invoice_sending_method"]
    )[0]
    assert partner["invoice_sending_method"] is False
    move = db.execute(
        "account.move", "read", [invoice], fields=["state", "amount_total"]
    )[0]
    assert move["state"] == "posted"
    assert move["amount_total"] > 0


def _module_leftovers(db):
    """What the add-on left behind after its uninstallation."""
    data = db.execute(
        "ir.model.data", "search_count", [("module", "=", ADDON)], context={}
    )
    fields = db.execute(
        "ir.model.fields",
        "search_count",
        [("name", "=like", "chorus\\_%")],
    )
    return data, fields


def test_install_uninstall_reinstall_on_existing_database(odoo_server, db_name):
    db = odoo_server.create_database(db_name, demo=False)
    db.install("sale_management", "l10n_fr_account")
    company = db.execute(
        "res.company", "search_read", [], fields=["chart_template"], limit=1
    )
    assert company[0]["chart_template"] == "fr", "the French chart is in use"

    customer, order, invoice = _setup_company_in_use(db)
    before = _snapshot(db, customer, order, invoice)

    db.install(ADDON)
    assert db.module_state(ADDON) == "installed"
    assert _snapshot(db, customer, order, invoice) == before

    # Meanwhile a public customer was invoiced with the add-on's payment term.
    public_customer, public_invoice = _invoice_public_customer(db)
    db.uninstall(ADDON)
    assert db.module_state(ADDON) == "uninstalled"
    _check_public_customer_after_uninstall(db, public_customer, public_invoice)
    assert _module_leftovers(db) == (0, 0)
    assert _snapshot(db, customer, order, invoice) == before

    db.install(ADDON)
    assert db.module_state(ADDON) == "installed"
    assert _snapshot(db, customer, order, invoice) == before
    _check_still_usable(db, customer, invoice)
    assert odoo_server.log_problems() == []
