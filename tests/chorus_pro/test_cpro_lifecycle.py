"""Flows and invoices move through their statuses; searches page."""

import datetime
import time

from chorus_pro import history_status_dates
from chorus_pro.constants import SYNTAX_CII
from chorus_pro.sandbox.fixtures import PUBLIC_BODY, SYNDICATE, TOWN_HALL
from chorus_pro.sandbox.samples import SampleInvoice, build_flow

SEARCH = "/cpro/factures/v1/rechercher/fournisseur"


def test_pagination_past_the_first_page(make_client, deposit, admin):
    deposit(
        SYNTAX_CII,
        [SampleInvoice(f"PG-{n:02d}", PUBLIC_BODY.siret) for n in range(25)],
    )
    small_pages = make_client(page_size=10)
    before = admin.calls(SEARCH)
    found = small_pages.search_invoices()
    assert admin.calls(SEARCH) - before == 3
    assert sorted(i["numeroFacture"] for i in found) == [
        f"PG-{n:02d}" for n in range(25)
    ]
    assert len({i["identifiantFactureCPP"] for i in found}) == 25
    # The default page size of the client asks for fewer pages.
    before = admin.calls(SEARCH)
    assert len(make_client().search_invoices()) == 25
    assert admin.calls(SEARCH) - before == 1


def test_pagination_with_descending_sort(make_client, deposit):
    deposit(
        SYNTAX_CII, [SampleInvoice(f"S-{n:02d}", PUBLIC_BODY.siret) for n in range(13)]
    )
    client = make_client(page_size=5)
    found = client.search_invoices(sort=("NumeroFacture", "Descendant"))
    assert [i["numeroFacture"] for i in found] == [
        f"S-{n:02d}" for n in reversed(range(13))
    ]


def test_flow_goes_through_pending_statuses(client, admin):
    admin.config(flow_polls_before_final=3)
    content, name = build_flow(SYNTAX_CII, [SampleInvoice("FP-1", PUBLIC_BODY.siret)])
    number = client.deposit_flow(content, name, SYNTAX_CII)["numeroFluxDepot"]
    seen = [client.get_flow_report(number)["etatCourantDepotFlux"] for _ in range(4)]
    assert seen == [
        "IN_TRAITE_SE_CPP",
        "IN_EN_ATTENTE_TRAITEMENT_CPP",
        "IN_EN_COURS_TRAITEMENT_CPP",
        "IN_INTEGRE",
    ]
    assert [f["etatCourantDepotFlux"] for f in admin.get("flows")["flows"]] == [
        "IN_INTEGRE"
    ]


def test_flow_final_after_elapsed_time(client, admin):
    admin.config(flow_polls_before_final=100, flow_final_after=0.5)
    content, name = build_flow(SYNTAX_CII, [SampleInvoice("FT-1", PUBLIC_BODY.siret)])
    number = client.deposit_flow(content, name, SYNTAX_CII)["numeroFluxDepot"]
    assert client.get_flow_report(number)["etatCourantDepotFlux"] != "IN_INTEGRE"
    time.sleep(0.55)
    # Nobody needs to ask for the report: the invoice search sees it integrated.
    assert len(client.search_invoices(invoice_number="FT-1")) == 1
    assert client.get_flow_report(number)["etatCourantDepotFlux"] == "IN_INTEGRE"


def test_invoices_advance_with_elapsed_time(client, deposit, admin):
    admin.config(invoice_step_after=0.1)
    deposit(
        SYNTAX_CII,
        [
            SampleInvoice("AUTO-1", PUBLIC_BODY.siret),
            SampleInvoice("AUTO-2", SYNDICATE.siret),
        ],
    )
    time.sleep(1.0)
    statuses = {i["numeroFacture"]: i for i in client.search_invoices()}
    assert statuses["AUTO-1"]["statut"] == "MISE_EN_PAIEMENT"
    # This buyer never reports the payment: it stops at MANDATEE.
    assert statuses["AUTO-2"]["statut"] == "MANDATEE"
    history = client.get_invoice_history(statuses["AUTO-1"]["identifiantFactureCPP"])
    entries = history["historiquesDesStatuts"]["histoStatut"]
    assert [e["histoStatutCode"] for e in entries] == [
        "DEPOSEE",
        "EN_COURS_ACHEMINEMENT",
        "MISE_A_DISPOSITION",
        "SERVICE_FAIT",
        "MANDATEE",
        "MISE_EN_PAIEMENT",
    ]
    moments = [e["histoStatutDatePassage"] for e in entries]
    assert moments == sorted(moments) and len(set(moments)) == len(moments)


def test_admin_advance_rules(client, deposit, admin):
    deposit(
        SYNTAX_CII,
        [
            SampleInvoice("ADV-1", PUBLIC_BODY.siret),
            SampleInvoice("ADV-2", SYNDICATE.siret),
        ],
    )
    ids = {
        i["numeroFacture"]: i["identifiantFactureCPP"] for i in client.search_invoices()
    }
    admin.advance(ids["ADV-1"], "MANDATEE")
    dates = history_status_dates(client.get_invoice_history(ids["ADV-1"]))
    assert set(dates) == {
        "DEPOSEE",
        "EN_COURS_ACHEMINEMENT",
        "MISE_A_DISPOSITION",
        "SERVICE_FAIT",
        "MANDATEE",
    }
    # No way back, no unknown status.
    admin.post(
        "invoices/advance",
        {"identifiantFactureCPP": ids["ADV-1"], "statut": "MISE_A_DISPOSITION"},
        expect=400,
    )
    admin.post(
        "invoices/advance",
        {"identifiantFactureCPP": ids["ADV-1"], "statut": "PAYEE"},
        expect=400,
    )
    admin.post(
        "invoices/advance", {"numeroFacture": "ADV-1", "statut": "MISE_EN_PAIEMENT"}
    )
    # Final: nothing moves it any more.
    admin.post(
        "invoices/advance",
        {"identifiantFactureCPP": ids["ADV-1"], "statut": "REJETEE"},
        expect=400,
    )
    admin.post(
        "invoices/advance",
        {"identifiantFactureCPP": ids["ADV-2"], "statut": "MISE_EN_PAIEMENT"},
        expect=400,
    )
    admin.post(
        "invoices/advance", {"numeroFacture": "NOPE", "statut": "REJETEE"}, expect=404
    )
    admin.advance(ids["ADV-2"], "REJETEE", commentaire="Doublon")
    [rejected] = client.search_invoices(invoice_number="ADV-2")
    assert rejected["statut"] == "REJETEE"
    assert rejected["commentaireEtatCourant"] == "Doublon"


def test_reset_forgets_state_and_configuration(client, deposit, admin):
    deposit(SYNTAX_CII, [SampleInvoice("RS-1", TOWN_HALL.siret, service_code="SPORTS")])
    admin.config(token_lifetime=5, check_xsd=False)
    admin.faults(latency=0.01)
    admin.post("reset")
    stats = admin.stats()
    assert stats["deposits"] == 0 and stats["invoices"] == {} and stats["calls"] == {}
    assert admin.get("config")["token_lifetime"] == 3600
    assert admin.get("config")["check_xsd"] is True
    assert admin.get("faults")["latency"] == 0
    assert "client_secret" not in admin.get("config")
    # Tokens are forgotten too: the client gets a new one transparently.
    assert client.search_invoices() == []
    assert admin.stats()["tokens_issued"] == 1


def test_calls_are_counted_per_endpoint(client, admin):
    client.health_check()
    client.get_structure(TOWN_HALL.id)
    client.get_structure(TOWN_HALL.id)
    calls = admin.stats()["calls"]
    assert calls == {
        "/api/oauth/token": 1,
        "/cpro/transverses/v1/health-check": 1,
        "/cpro/structures/v1/consulter": 2,
    }


def test_admin_config_is_validated(admin):
    admin.post("config", {"token_lifetime": "long"}, expect=400)
    admin.post("config", {"unknown": 1}, expect=400)
    admin.post("config", {"check_xsd": 1}, expect=400)
    admin.post("nothing-here", expect=404)


def test_engagements_can_be_added(client, admin):
    from chorus_pro.sandbox.fixtures import SUPPLIER

    assert client.search_engagements("2100000001", SUPPLIER.id) == []
    admin.post("engagements", {"numeroEngagementJuridique": "2100000001"})
    assert len(client.search_engagements("2100000001", SUPPLIER.id)) == 1


def test_admin_forces_a_failed_flow(client, deposit, admin):
    report = deposit(
        SYNTAX_CII, [SampleInvoice("INC-1", PUBLIC_BODY.siret)], final=False
    )
    number = report["numeroFluxDepot"]
    admin.post(
        f"flows/{number}/complete",
        {"etatCourantDepotFlux": "IN_EMBALLE"},
        expect=400,
    )
    admin.post(
        f"flows/{number}/complete",
        {
            "etatCourantDepotFlux": "IN_INCIDENTE",
            "listeErreurTechnique": [
                {"codeErreur": "T1", "libelleErreur": "Panne", "natureErreur": "REJET"}
            ],
        },
    )
    report = client.get_flow_report(number)
    assert report["etatCourantDepotFlux"] == "IN_INCIDENTE"
    assert report["listeErreurTechnique"][0]["libelleErreur"] == "Panne"
    # Nothing was integrated, and the number may be deposited again.
    assert client.search_invoices(invoice_number="INC-1") == []
    again = deposit(SYNTAX_CII, [SampleInvoice("INC-1", PUBLIC_BODY.siret)])
    assert again["etatCourantDepotFlux"] == "IN_INTEGRE"
    admin.post(
        f"flows/{number}/complete", {"etatCourantDepotFlux": "IN_REJETE"}, expect=400
    )


def test_admin_reaches_the_optional_statuses(client, deposit, admin):
    deposit(SYNTAX_CII, [SampleInvoice("OPT-1", PUBLIC_BODY.siret)])
    [invoice] = client.search_invoices(invoice_number="OPT-1")
    invoice_id = invoice["identifiantFactureCPP"]
    admin.advance(invoice_id, "PRISE_EN_COMPTE_DESTINATAIRE")
    admin.advance(invoice_id, "COMPTABILISEE")
    codes = [
        entry["histoStatutCode"]
        for entry in client.get_invoice_history(invoice_id)["historiquesDesStatuts"][
            "histoStatut"
        ]
    ]
    assert codes == [
        "DEPOSEE",
        "EN_COURS_ACHEMINEMENT",
        "MISE_A_DISPOSITION",
        "PRISE_EN_COMPTE_DESTINATAIRE",
        "SERVICE_FAIT",
        "MANDATEE",
        "COMPTABILISEE",
    ]
    admin.advance(invoice_id, "MISE_EN_PAIEMENT")
    changed = client.search_invoices(statuses=["MISE_EN_PAIEMENT"])
    assert [i["numeroFacture"] for i in changed] == ["OPT-1"]


def test_known_invoices_are_loaded(sandbox, client, admin, deposit):
    """The demo command loads the invoices its database has on Chorus Pro: they
    are searched, read and completed like deposited ones, and new deposits
    take neither their ids nor their flow numbers."""
    paris = datetime.timezone(datetime.timedelta(hours=1))
    deposited = datetime.datetime(2026, 3, 2, 10, tzinfo=paris)
    suspended = datetime.datetime(2026, 3, 20, 10, tzinfo=paris)
    loaded = sandbox.state.load_invoices(
        [
            {
                "id": "6900001",
                "number": "INV/2026/00001",
                "buyer_siret": TOWN_HALL.siret,
                "service_code": "TECHNIQUE",
                "flow_number": "CPP2026900000001",
                "deposited_at": deposited,
                "total_including_tax": 1080.0,
                "history": [
                    ("MISE_A_DISPOSITION", deposited + datetime.timedelta(days=2), ""),
                    ("SUSPENDUE", suspended, "Pièce manquante"),
                ],
            }
        ]
    )
    assert loaded == 1
    (found,) = client.search_invoices()
    assert found["identifiantFactureCPP"] == 6900001
    assert found["statut"] == "SUSPENDUE"
    assert found["codeServiceExecutant"] == "TECHNIQUE"
    dates = history_status_dates(client.get_invoice_history(6900001))
    assert list(dates) == ["DEPOSEE", "MISE_A_DISPOSITION", "SUSPENDUE"]
    client.complete_invoice(6900001, "Voici la pièce.")
    assert admin.stats()["duplicates"] == 0

    deposit(SYNTAX_CII, [SampleInvoice("NEW-1", PUBLIC_BODY.siret)])
    admin.post("flows/complete")
    new = [i for i in client.search_invoices() if i["numeroFacture"] == "NEW-1"]
    assert new[0]["identifiantFactureCPP"] > 6900001
    assert new[0]["numeroFluxDepot"] > "CPP2026900000001"
