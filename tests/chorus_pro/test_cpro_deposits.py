"""The sandbox reads deposits strictly and applies each buyer's requirements."""

import base64
import io

import pytest
from chorus_pro import ChorusProFunctionalError
from chorus_pro.constants import SYNTAX_CII, SYNTAX_FACTURX, SYNTAX_UBL
from chorus_pro.sandbox import samples
from chorus_pro.sandbox.fixtures import (
    HOSPITAL,
    PUBLIC_BODY,
    STATE_MINISTRY,
    TOWN_HALL,
    UNIVERSITY,
)
from chorus_pro.sandbox.samples import SampleInvoice, build_flow


def final_report(client, admin, content, name, syntax):
    number = client.deposit_flow(content, name, syntax)["numeroFluxDepot"]
    admin.post(f"flows/{number}/complete")
    return client.get_flow_report(number)


def refused(client, content, name, syntax):
    with pytest.raises(ChorusProFunctionalError) as info:
        client.deposit_flow(content, name, syntax)
    assert info.value.http_status == 400
    return info.value


# (buyer, service code, engagement number, accepted?)
REQUIREMENT_CASES = [
    (PUBLIC_BODY, "", "", True),
    (PUBLIC_BODY, "ACCUEIL", "", True),
    (STATE_MINISTRY, "", "", False),
    (STATE_MINISTRY, "", "1300012345", True),
    (STATE_MINISTRY, "", "1300000000", False),  # unknown to the State's registry
    (STATE_MINISTRY, "", "1300099999", False),  # closed engagement
    (TOWN_HALL, "", "", False),
    (TOWN_HALL, "TECHNIQUE", "", True),
    (TOWN_HALL, "ECOLES", "", False),  # this service requires an engagement
    (TOWN_HALL, "ECOLES", "EJ-1", True),
    (TOWN_HALL, "ANCIENNE_REGIE", "", False),  # inactive service
    (TOWN_HALL, "FACTURES_PUBLIQUES", "", False),  # reserved service
    (TOWN_HALL, "INCONNU", "", False),
    (HOSPITAL, "PHARMACIE", "", False),
    (HOSPITAL, "", "EJ-1", False),
    (HOSPITAL, "PHARMACIE", "EJ-1", True),
    (UNIVERSITY, "", "", False),
    (UNIVERSITY, "DSI", "", True),
    (UNIVERSITY, "", "EJ-1", True),
]


@pytest.mark.parametrize(
    "buyer, service, engagement, accepted",
    REQUIREMENT_CASES,
    ids=[f"{b.requirement}-{s or '_'}-{e or '_'}" for b, s, e, _ in REQUIREMENT_CASES],
)
def test_buyer_requirements(client, admin, buyer, service, engagement, accepted):
    invoice = SampleInvoice("F-REQ", buyer.siret, service, engagement)
    content, name = build_flow(SYNTAX_FACTURX, [invoice])
    report = final_report(client, admin, content, name, SYNTAX_FACTURX)
    if accepted:
        assert report["etatCourantDepotFlux"] == "IN_INTEGRE", report
        assert len(client.search_invoices(invoice_number="F-REQ")) == 1
    else:
        assert report["etatCourantDepotFlux"] == "IN_REJETE", report
        [error] = report["listeErreurDP"]
        assert error["numeroDP"] == "F-REQ"
        assert error["identifiantDestinataire"] == buyer.siret
        assert error["libelleErreurDP"]
        assert client.search_invoices(invoice_number="F-REQ") == []


def test_unknown_buyer_and_foreign_supplier(client, admin):
    invoices = [
        SampleInvoice("F-OK", PUBLIC_BODY.siret),
        SampleInvoice("F-NOBUYER", "90000002000000"),
        SampleInvoice("F-NOTME", PUBLIC_BODY.siret, seller_siret="90000002000000"),
    ]
    content, name = build_flow(SYNTAX_UBL, invoices)
    report = final_report(client, admin, content, name, SYNTAX_UBL)
    assert report["etatCourantDepotFlux"] == "IN_INTEGRE_PARTIEL"
    errors = {e["numeroDP"]: e["libelleErreurDP"] for e in report["listeErreurDP"]}
    assert set(errors) == {"F-NOBUYER", "F-NOTME"}
    assert "inconnu" in errors["F-NOBUYER"]
    assert "fournisseur" in errors["F-NOTME"].lower()


def test_multi_invoice_flow_partially_integrated(client, admin):
    invoices = [
        SampleInvoice(f"M-{n:02d}", TOWN_HALL.siret, service_code="TECHNIQUE")
        for n in range(12)
    ]
    invoices[3].service_code = ""
    invoices[10].service_code = "FACTURES_PUBLIQUES"
    content, name = build_flow(SYNTAX_CII, invoices, "lot.tar.gz")
    report = final_report(client, admin, content, name, SYNTAX_CII)
    assert report["etatCourantDepotFlux"] == "IN_INTEGRE_PARTIEL"
    assert sorted(e["numeroDP"] for e in report["listeErreurDP"]) == ["M-03", "M-10"]
    integrated = client.search_invoices(
        flow_number=report["numeroFluxDepot"], page_size=5
    )
    assert len(integrated) == 10


def test_multi_invoice_flow_all_rejected(client, admin):
    invoices = [SampleInvoice(f"R-{n}", TOWN_HALL.siret) for n in range(3)]
    content, name = build_flow(SYNTAX_FACTURX, invoices)
    report = final_report(client, admin, content, name, SYNTAX_FACTURX)
    assert report["etatCourantDepotFlux"] == "IN_REJETE"
    assert len(report["listeErreurDP"]) == 3


def test_duplicate_invoice_numbers_are_counted_and_rejected(client, admin):
    first = SampleInvoice("F-DUP", PUBLIC_BODY.siret)
    content, name = build_flow(SYNTAX_UBL, [first])
    assert (
        final_report(client, admin, content, name, SYNTAX_UBL)["etatCourantDepotFlux"]
        == "IN_INTEGRE"
    )
    again = final_report(client, admin, content, name, SYNTAX_UBL)
    assert again["etatCourantDepotFlux"] == "IN_REJETE"
    assert "doublon" in again["listeErreurDP"][0]["libelleErreurDP"]
    stats = admin.stats()
    assert stats["deposits"] == 2
    assert stats["duplicates"] == 1
    assert stats["duplicate_numbers"] == {"F-DUP": 1}
    assert stats["deposits_per_invoice"] == {"F-DUP": 2}
    assert stats["distinct_invoices"] == 1
    assert len(client.search_invoices(invoice_number="F-DUP")) == 1


def test_resending_a_rejected_invoice_is_no_duplicate(client, admin):
    missing = SampleInvoice("F-FIX", TOWN_HALL.siret)
    content, name = build_flow(SYNTAX_UBL, [missing])
    assert (
        final_report(client, admin, content, name, SYNTAX_UBL)["etatCourantDepotFlux"]
        == "IN_REJETE"
    )
    fixed = SampleInvoice("F-FIX", TOWN_HALL.siret, service_code="VOIRIE")
    content, name = build_flow(SYNTAX_UBL, [fixed])
    assert (
        final_report(client, admin, content, name, SYNTAX_UBL)["etatCourantDepotFlux"]
        == "IN_INTEGRE"
    )
    assert admin.stats()["duplicates"] == 0


def test_a_duplicate_inside_one_flow(client, admin):
    invoices = [SampleInvoice("F-TWICE", PUBLIC_BODY.siret) for _ in range(2)]
    files = [
        ("a.xml", samples.cii_xml(invoices[0])),
        ("b.xml", samples.cii_xml(invoices[1])),
    ]
    report = final_report(client, admin, samples.tar_gz(files), "x.tar.gz", SYNTAX_CII)
    assert report["etatCourantDepotFlux"] == "IN_INTEGRE_PARTIEL"
    assert admin.stats()["duplicates"] == 1


def test_credit_notes_in_every_syntax(client, admin):
    for n, syntax in enumerate((SYNTAX_UBL, SYNTAX_CII, SYNTAX_FACTURX)):
        invoice = SampleInvoice(f"AV-{n}", PUBLIC_BODY.siret, credit_note=True)
        content, name = build_flow(syntax, [invoice])
        final_report(client, admin, content, name, syntax)
    types = {i["typeFacture"] for i in client.search_invoices()}
    assert types == {"AVOIR"}
    assert len(client.search_invoices(invoice_type="AVOIR")) == 3


def test_xsd_invalid_document_is_rejected_after_receipt(client, admin):
    xml = samples.ubl_xml(SampleInvoice("F-XSD", PUBLIC_BODY.siret))
    broken = xml.replace(
        b"<cbc:IssueDate>", b"<cbc:Unexpected>x</cbc:Unexpected><cbc:IssueDate>"
    )
    report = final_report(client, admin, broken, "f.xml", SYNTAX_UBL)
    assert report["etatCourantDepotFlux"] == "IN_REJETE"
    [error] = report["listeErreurTechnique"]
    assert "XSD" in error["libelleErreur"]
    # Without the XSD check the same file is integrated.
    admin.config(check_xsd=False)
    xml = samples.ubl_xml(SampleInvoice("F-XSD2", PUBLIC_BODY.siret))
    broken = xml.replace(
        b"<cbc:IssueDate>", b"<cbc:Unexpected>x</cbc:Unexpected><cbc:IssueDate>"
    )
    report = final_report(client, admin, broken, "f.xml", SYNTAX_UBL)
    assert report["etatCourantDepotFlux"] == "IN_INTEGRE"


def test_document_without_invoice_number(client, admin):
    admin.config(check_xsd=False)
    xml = samples.cii_xml(SampleInvoice("F-GONE", PUBLIC_BODY.siret))
    xml = xml.replace(b"<ram:ID>F-GONE</ram:ID>", b"")
    report = final_report(client, admin, xml, "f.xml", SYNTAX_CII)
    assert report["etatCourantDepotFlux"] == "IN_REJETE"
    assert (
        "Numéro de facture absent" in report["listeErreurTechnique"][0]["libelleErreur"]
    )


# --- refused synchronously --------------------------------------------------------


def test_unknown_syntax_is_refused(client, admin):
    xml = samples.ubl_xml(SampleInvoice("F-1", PUBLIC_BODY.siret))
    error = refused(client, xml, "f.xml", "IN_DP_E1_XCBL")
    assert error.code == 20008
    assert admin.stats()["refused"] == {"unknown_syntax": 1}
    assert admin.stats()["deposits"] == 0


@pytest.mark.parametrize(
    "syntax, content, name",
    [
        (SYNTAX_UBL, b"not xml at all", "f.xml"),
        (SYNTAX_CII, b"<?xml version='1.0'?><Invoice/>", "f.xml"),  # wrong root
        (
            SYNTAX_UBL,
            b"<?xml version='1.0'?><rsm:CrossIndustryInvoice "
            b"xmlns:rsm='urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100'/>",
            "f.xml",
        ),
        (SYNTAX_FACTURX, b"<?xml version='1.0'?><x/>", "f.pdf"),  # not a PDF
        (SYNTAX_FACTURX, b"%PDF-1.4 garbage", "f.pdf"),  # unreadable PDF
        (SYNTAX_UBL, b"\x1f\x8b\x08 not really gzip", "lot.tar.gz"),
    ],
    ids=[
        "not-xml",
        "cii-wrong-root",
        "ubl-wrong-root",
        "pdf-not-pdf",
        "bad-pdf",
        "bad-gz",
    ],
)
def test_unparsable_files_are_refused(client, admin, syntax, content, name):
    error = refused(client, content, name, syntax)
    assert error.code == 20010
    assert admin.stats()["refused"] == {"invalid_file": 1}


def test_pdf_without_facturx_xml_is_refused(client):
    error = refused(client, samples.blank_pdf(), "plain.pdf", SYNTAX_FACTURX)
    assert "Factur-X" in error.label


def test_wrong_extension_is_refused(client):
    pdf = samples.facturx_pdf(SampleInvoice("F-1", PUBLIC_BODY.siret))
    assert refused(client, pdf, "f.xml", SYNTAX_FACTURX).code == 20010
    xml = samples.cii_xml(SampleInvoice("F-1", PUBLIC_BODY.siret))
    assert refused(client, xml, "f.pdf", SYNTAX_CII).code == 20010


def test_archive_of_mixed_syntaxes_is_refused(client):
    invoice = SampleInvoice("F-1", PUBLIC_BODY.siret)
    archive = samples.tar_gz(
        [("a.xml", samples.cii_xml(invoice)), ("b.xml", samples.ubl_xml(invoice))]
    )
    assert refused(client, archive, "lot.tar.gz", SYNTAX_CII).code == 20010


def test_archive_with_a_link_is_refused(client):
    import tarfile

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        link = tarfile.TarInfo("evil.xml")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    assert refused(client, out.getvalue(), "lot.tar.gz", SYNTAX_CII).code == 20010


def test_flow_size_limit(client, admin):
    admin.config(max_flow_bytes=1000)
    xml = samples.ubl_xml(SampleInvoice("F-BIG", PUBLIC_BODY.siret))
    with pytest.raises(ChorusProFunctionalError) as info:
        client.deposit_flow(xml, "f.xml", SYNTAX_UBL)
    assert info.value.code == 20001
    assert info.value.label.startswith("GDP_MSG_11.022")


def raw_deposit(sandbox, client, body):
    import requests

    token, _ = client._token()
    return requests.post(
        f"{sandbox.url}/cpro/factures/v1/deposer/flux",
        json=body,
        headers={
            "Authorization": f"Bearer {token}",
            "cpro-account": base64.b64encode(
                b"TECH_sandbox@cpro.fr:sandbox-password"
            ).decode(),
        },
        timeout=5,
    )


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"fichierFlux": "%%% not base64 %%%"}, "invalid_base64"),
        ({"fichierFlux": 12}, "wrong_type"),
        ({"avecSignature": "false"}, "wrong_type"),
        ({"syntaxeFlux": None}, "missing_field"),
        ({"nomFichier": ["f.xml"]}, "wrong_type"),
        ({"idUtilisateurCourant": True}, "wrong_type"),
    ],
)
def test_strict_request_types(sandbox, client, admin, change, reason):
    xml = samples.ubl_xml(SampleInvoice("F-T", PUBLIC_BODY.siret))
    body = {
        "fichierFlux": base64.b64encode(xml).decode(),
        "nomFichier": "f.xml",
        "syntaxeFlux": SYNTAX_UBL,
        "avecSignature": False,
    }
    body.update(change)
    response = raw_deposit(sandbox, client, body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["codeRetour"] != 0 and answer["libelle"]
    assert admin.stats()["refused"] == {reason: 1}
    assert admin.stats()["deposits"] == 0


def test_the_untouched_request_is_accepted(sandbox, client, admin):
    """Control for test_strict_request_types: the same body, unchanged, passes."""
    xml = samples.ubl_xml(SampleInvoice("F-T", PUBLIC_BODY.siret))
    body = {
        "fichierFlux": base64.b64encode(xml).decode(),
        "nomFichier": "f.xml",
        "syntaxeFlux": SYNTAX_UBL,
        "avecSignature": False,
    }
    response = raw_deposit(sandbox, client, body)
    assert response.status_code == 200, response.text
    assert response.json()["numeroFluxDepot"]


def with_attachment(xml, name, mimetype, content):
    """``xml`` (a UBL invoice) with one embedded supporting document."""
    reference = (
        f"<cac:AdditionalDocumentReference><cbc:ID>{name}</cbc:ID>"
        "<cac:Attachment><cbc:EmbeddedDocumentBinaryObject "
        f'mimeCode="{mimetype}" filename="{name}">{base64.b64encode(content).decode()}'
        "</cbc:EmbeddedDocumentBinaryObject></cac:Attachment>"
        "</cac:AdditionalDocumentReference>"
    )
    return xml.replace(
        b"<cac:AccountingSupplierParty>",
        reference.encode() + b"<cac:AccountingSupplierParty>",
        1,
    )


def test_supporting_documents_are_read_and_their_limits_applied(client, admin):
    xml = samples.ubl_xml(SampleInvoice("F-PJ-1", PUBLIC_BODY.siret))
    good = with_attachment(xml, "bon.pdf", "application/pdf", b"%PDF-1.4")
    report = final_report(client, admin, good, "f.xml", SYNTAX_UBL)
    assert report["etatCourantDepotFlux"] == "IN_INTEGRE"
    [invoice] = [
        i for i in admin.get("invoices")["invoices"] if i["numeroFacture"] == "F-PJ-1"
    ]
    assert invoice["attachments"] == ["bon.pdf"]

    for number, name, mimetype, size, reason in (
        ("F-PJ-2", "outil.exe", "application/octet-stream", 10, "Type de pièce jointe"),
        ("F-PJ-3", "x" * 47 + ".pdf", "application/pdf", 10, "Nom de pièce jointe"),
        ("F-PJ-4", "plans.pdf", "application/pdf", 10 * 1024 * 1024, "dépasse 10 Mo"),
    ):
        xml = samples.ubl_xml(SampleInvoice(number, PUBLIC_BODY.siret))
        bad = with_attachment(xml, name, mimetype, b"0" * size)
        report = final_report(client, admin, bad, "f.xml", SYNTAX_UBL)
        assert report["etatCourantDepotFlux"] != "IN_INTEGRE", number
        assert reason in str(report), (number, report)
