"""Contract tests: every client method against the sandbox over real HTTP."""

import base64
import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from chorus_pro import ChorusProFunctionalError, history_status_dates
from chorus_pro.constants import SYNTAX_CII, SYNTAX_FACTURX, SYNTAX_UBL
from chorus_pro.sandbox.fixtures import (
    HOSPITAL,
    PUBLIC_BODY,
    STATE_MINISTRY,
    SUPPLIER,
    SYNDICATE,
    TOWN_HALL,
    UNIVERSITY,
)
from chorus_pro.sandbox.samples import SampleInvoice


def paris_today():
    """Today in Paris, the time zone of Chorus Pro's dates."""
    return datetime.datetime.now(ZoneInfo("Europe/Paris")).date()


def test_health_check(client):
    assert client.health_check()["codeRetour"] == 0


def test_search_structure_by_siret(client):
    found = client.search_structures(TOWN_HALL.siret)
    assert [s["idStructureCPP"] for s in found] == [TOWN_HALL.id]
    assert found[0]["designationStructure"] == TOWN_HALL.name
    assert client.find_structure(HOSPITAL.siret)["idStructureCPP"] == HOSPITAL.id


def test_search_structure_nothing_found_is_empty(client):
    assert client.search_structures("11111111111111") == []
    assert client.find_structure("11111111111111") is None


@pytest.mark.parametrize(
    "buyer, service, engagement, either",
    [
        (STATE_MINISTRY, False, True, False),
        (TOWN_HALL, True, False, False),
        (HOSPITAL, True, True, False),
        (UNIVERSITY, False, False, True),
        (PUBLIC_BODY, False, False, False),
    ],
    ids=lambda v: getattr(v, "requirement", None),
)
def test_structure_parameters(client, buyer, service, engagement, either):
    answer = client.get_structure(buyer.id)
    params = answer["parametres"]
    assert params["codeServiceDoitEtreRenseigne"] is service
    assert params["numeroEJDoitEtreRenseigne"] is engagement
    assert params["gestionNumeroEJOuCodeService"] is either
    assert params["statutMiseEnPaiementNestPasRemonte"] is False
    assert "dateExpirationMotPasseCompteTech" not in answer["informationGenerales"]


def test_structure_payment_status_not_reported(client):
    params = client.get_structure(SYNDICATE.id)["parametres"]
    assert params["statutMiseEnPaiementNestPasRemonte"] is True


def test_supplier_structure_gives_password_expiry(client, admin):
    admin.config(password_expiry_days=12)
    general = client.get_structure(SUPPLIER.id)["informationGenerales"]
    expected = datetime.date.today() + datetime.timedelta(days=12)
    assert general["dateExpirationMotPasseCompteTech"] == expected.isoformat()


def test_unknown_structure_is_a_functional_error(client):
    with pytest.raises(ChorusProFunctionalError) as info:
        client.get_structure(1)
    assert info.value.code == 20005
    assert "inconnue" in info.value.label


def test_services_every_page(client, admin):
    services = client.search_services(TOWN_HALL.id, page_size=5)
    assert len(services) == len(TOWN_HALL.services) == 12
    assert admin.calls("/cpro/structures/v1/rechercher/services") == 3
    by_code = {s["codeService"]: s for s in services}
    assert by_code["ANCIENNE_REGIE"]["estActif"] is False
    assert "FACTURES_PUBLIQUES" in by_code


def test_service_parameters(client):
    ecoles = client.get_service(TOWN_HALL.id, 30020101)
    assert ecoles["codeService"] == "ECOLES"
    assert ecoles["parametres"]["numeroEngagement"] is True
    technique = client.get_service(TOWN_HALL.id, 30020102)
    assert technique["parametres"]["numeroEngagement"] is False


def test_engagement_check(client):
    found = client.search_engagements("1300012345", SUPPLIER.id)
    assert [e["numeroEngagementJuridique"] for e in found] == ["1300012345"]
    assert found[0]["identifiantStructureEmettrice"] == STATE_MINISTRY.siret
    assert client.search_engagements("9999999999", SUPPLIER.id) == []
    # A closed engagement is not "COMMANDE".
    assert client.search_engagements("1300099999", SUPPLIER.id) == []


def test_supplier_structures(client):
    assert client.get_supplier_structures() == [
        {
            "idStructureCPP": SUPPLIER.id,
            "identifiant": SUPPLIER.siret,
            "designationStructure": SUPPLIER.name,
        }
    ]


@pytest.mark.parametrize("syntax", [SYNTAX_FACTURX, SYNTAX_UBL, SYNTAX_CII])
def test_deposit_and_follow_the_flow(client, syntax):
    from chorus_pro.sandbox.samples import build_flow

    invoice = SampleInvoice("F-FLOW-1", TOWN_HALL.siret, service_code="TECHNIQUE")
    content, name = build_flow(syntax, [invoice])
    answer = client.deposit_flow(content, name, syntax)
    number = answer["numeroFluxDepot"]
    assert number and answer["syntaxeFlux"] == syntax
    # Chorus Pro dates are days in Paris.
    assert answer["dateDepot"] == paris_today().isoformat()
    # Received is not integrated: nothing to search yet, then pending, then final.
    assert client.search_invoices(flow_number=number) == []
    first = client.get_flow_report(number)
    assert first["etatCourantDepotFlux"] in {
        "IN_TRAITE_SE_CPP",
        "IN_EN_ATTENTE_TRAITEMENT_CPP",
        "IN_EN_COURS_TRAITEMENT_CPP",
    }
    final = client.get_flow_report(number, syntax=syntax)
    assert final["etatCourantDepotFlux"] == "IN_INTEGRE"
    assert final["listeErreurDP"] == [] and final["listeErreurTechnique"] == []
    [found] = client.search_invoices(flow_number=number)
    assert found["numeroFacture"] == "F-FLOW-1"
    assert found["statut"] == "DEPOSEE"
    assert found["montantTTC"] == 120.0
    assert found["typeFacture"] == "FACTURE"
    assert found["codeServiceExecutant"] == "TECHNIQUE"


def test_unknown_flow_is_a_functional_error(client):
    with pytest.raises(ChorusProFunctionalError) as info:
        client.get_flow_report("CPP000")
    assert info.value.code == 20005


def test_invoice_search_filters(client, deposit, admin):
    deposit(
        SYNTAX_CII,
        [
            SampleInvoice("F-A", PUBLIC_BODY.siret),
            SampleInvoice("F-B", PUBLIC_BODY.siret),
            SampleInvoice("AV-A", PUBLIC_BODY.siret, credit_note=True),
        ],
    )
    other = deposit(SYNTAX_CII, [SampleInvoice("F-C", PUBLIC_BODY.siret)])
    everything = client.search_invoices()
    assert {i["numeroFacture"] for i in everything} == {"F-A", "F-B", "AV-A", "F-C"}
    credit = [i for i in everything if i["numeroFacture"] == "AV-A"][0]
    assert credit["typeFacture"] == "AVOIR"
    assert [
        i["numeroFacture"] for i in client.search_invoices(invoice_type="AVOIR")
    ] == ["AV-A"]
    by_flow = client.search_invoices(flow_number=other["numeroFluxDepot"])
    assert [i["numeroFacture"] for i in by_flow] == ["F-C"]
    assert [
        i["numeroFacture"] for i in client.search_invoices(invoice_number="F-B")
    ] == ["F-B"]
    ids = {i["numeroFacture"]: i["identifiantFactureCPP"] for i in everything}
    admin.advance(ids["F-A"], "MISE_A_DISPOSITION")
    admin.advance(ids["F-B"], "SUSPENDUE", dateHeure="2024-03-10T09:00:00+01:00")
    made_available = client.search_invoices(statuses=["MISE_A_DISPOSITION"])
    assert [i["numeroFacture"] for i in made_available] == ["F-A"]
    several = client.search_invoices(statuses=("MISE_A_DISPOSITION", "SUSPENDUE"))
    assert {i["numeroFacture"] for i in several} == {"F-A", "F-B"}
    # Period of the current status: F-B changed in March 2024, the others today.
    march = client.search_invoices(
        date_from=datetime.date(2024, 3, 1), date_to=datetime.date(2024, 3, 31)
    )
    assert [i["numeroFacture"] for i in march] == ["F-B"]
    since_today = client.search_invoices(date_from=paris_today())
    assert {i["numeroFacture"] for i in since_today} == {"F-A", "AV-A", "F-C"}
    assert client.search_invoices(invoice_number="NOPE") == []


def test_history_gives_the_made_available_date(client, deposit, admin):
    deposit(SYNTAX_UBL, [SampleInvoice("F-H", PUBLIC_BODY.siret)])
    [invoice] = client.search_invoices(invoice_number="F-H")
    admin.advance(
        invoice["identifiantFactureCPP"],
        "MISE_A_DISPOSITION",
        dateHeure="2025-01-15T10:30:00+01:00",
        commentaire="notifiée",
    )
    history = client.get_invoice_history(invoice["identifiantFactureCPP"])
    assert history["statutCourantCode"] == "MISE_A_DISPOSITION"
    codes = [
        h["histoStatutCode"] for h in history["historiquesDesStatuts"]["histoStatut"]
    ]
    assert codes == ["DEPOSEE", "EN_COURS_ACHEMINEMENT", "MISE_A_DISPOSITION"]
    dates = history_status_dates(history)
    assert dates["MISE_A_DISPOSITION"].startswith("2025-01-15T10:30:00")


def test_invoice_detail(client, deposit):
    deposit(
        SYNTAX_FACTURX,
        [
            SampleInvoice(
                "F-D",
                HOSPITAL.siret,
                service_code="PHARMACIE",
                engagement_number="EJ-77",
            )
        ],
    )
    [found] = client.search_invoices(invoice_number="F-D")
    facture = client.get_invoice(found["identifiantFactureCPP"])["facture"]
    assert facture["numeroFacture"] == "F-D"
    assert facture["destinataire"]["codeDestinataire"] == HOSPITAL.siret
    assert facture["destinataire"]["codeServiceExecutant"] == "PHARMACIE"
    assert facture["references"]["numeroBonCommande"] == "EJ-77"
    assert facture["references"]["numeroDpMandat"]


def test_complete_a_suspended_invoice(client, deposit, admin):
    deposit(SYNTAX_CII, [SampleInvoice("F-S", PUBLIC_BODY.siret)])
    [found] = client.search_invoices(invoice_number="F-S")
    invoice_id = found["identifiantFactureCPP"]
    with pytest.raises(ChorusProFunctionalError) as info:
        client.complete_invoice(invoice_id, "too early")
    assert info.value.code == 20006
    admin.advance(invoice_id, "SUSPENDUE", commentaire="Bon de livraison manquant")
    [suspended] = client.search_invoices(invoice_number="F-S")
    assert suspended["commentaireEtatCourant"] == "Bon de livraison manquant"
    attachment = client.attach_file(b"%PDF-1.4 delivery note", "bon_livraison.pdf")
    answer = client.complete_invoice(
        invoice_id, "Bon de livraison joint", [attachment["pieceJointeId"]]
    )
    assert answer["numeroFacture"] == "F-S"
    [completed] = client.search_invoices(invoice_number="F-S")
    assert completed["statut"] == "COMPLETEE"
    with pytest.raises(ChorusProFunctionalError):
        client.complete_invoice(invoice_id, "twice")


def test_complete_refuses_an_unknown_attachment(client, deposit, admin):
    deposit(SYNTAX_CII, [SampleInvoice("F-S2", PUBLIC_BODY.siret)])
    [found] = client.search_invoices(invoice_number="F-S2")
    admin.advance(found["identifiantFactureCPP"], "SUSPENDUE")
    with pytest.raises(ChorusProFunctionalError) as info:
        client.complete_invoice(found["identifiantFactureCPP"], "x", [123])
    assert info.value.code == 20005


def test_recycle_an_invoice_to_recycle(client, deposit, admin):
    deposit(SYNTAX_UBL, [SampleInvoice("F-R", TOWN_HALL.siret, service_code="CULTURE")])
    [found] = client.search_invoices(invoice_number="F-R")
    invoice_id = found["identifiantFactureCPP"]
    with pytest.raises(ChorusProFunctionalError) as info:
        client.recycle_invoice(invoice_id, service_code="SPORTS")
    assert info.value.code == 20006
    admin.advance(invoice_id, "A_RECYCLER", commentaire="Mauvais service")
    # ECOLES requires an engagement number: the new routing is refused.
    with pytest.raises(ChorusProFunctionalError) as info:
        client.recycle_invoice(invoice_id, service_code="ECOLES")
    assert info.value.code == 20007
    assert "engagement" in info.value.label
    answer = client.recycle_invoice(
        invoice_id, service_code="ECOLES", engagement_number="EJ-2025-9", comment="ok"
    )
    assert answer["statutFacture"] == "EN_COURS_ACHEMINEMENT"
    detail = client.get_invoice(invoice_id)["facture"]
    assert detail["destinataire"]["codeServiceExecutant"] == "ECOLES"
    assert detail["references"]["numeroBonCommande"] == "EJ-2025-9"


def test_recycle_to_another_buyer(client, deposit, admin):
    deposit(SYNTAX_UBL, [SampleInvoice("F-R2", PUBLIC_BODY.siret)])
    [found] = client.search_invoices(invoice_number="F-R2")
    admin.advance(found["identifiantFactureCPP"], "A_RECYCLER")
    answer = client.recycle_invoice(
        found["identifiantFactureCPP"], buyer_siret=UNIVERSITY.siret, service_code="DSI"
    )
    assert answer["statutFacture"] == "EN_COURS_ACHEMINEMENT"
    [moved] = client.search_invoices(invoice_number="F-R2")
    assert moved["codeDestinataire"] == UNIVERSITY.siret


def test_attach_file_limits(client, admin):
    answer = client.attach_file(b"hello", "note.txt")
    assert isinstance(answer["pieceJointeId"], int)
    with pytest.raises(ChorusProFunctionalError) as info:
        client.attach_file(b"x" * (10 * 1024 * 1024), "big.pdf")
    assert info.value.code == 20003
    with pytest.raises(ChorusProFunctionalError) as info:
        client.attach_file(b"x", "n" * 47 + ".pdf")  # 51 characters
    assert info.value.code == 20004
    assert client.attach_file(b"x", "n" * 46 + ".pdf")["pieceJointeId"]  # 50
    assert admin.stats()["refused"] == {
        "attachment_too_large": 1,
        "invalid_attachment_name": 1,
    }


def test_default_page_size_is_ten(sandbox, client, deposit):
    """The raw API pages by 10 when the request says nothing."""
    deposit(
        SYNTAX_CII, [SampleInvoice(f"P-{n:02d}", PUBLIC_BODY.siret) for n in range(12)]
    )
    token, _ = client._token()
    response = requests.post(
        f"{sandbox.url}/cpro/factures/v1/rechercher/fournisseur",
        json={},
        headers={
            "Authorization": f"Bearer {token}",
            "cpro-account": base64.b64encode(
                b"TECH_sandbox@cpro.fr:sandbox-password"
            ).decode(),
        },
        timeout=5,
    )
    answer = response.json()
    assert answer["codeRetour"] == 0
    assert len(answer["listeFactures"]) == 10
    assert answer["parametresRetour"] == {
        "nbResultatsParPage": 10,
        "pageCourante": 1,
        "pages": 2,
        "total": 12,
    }
