"""Typed errors, authentication and the token lifecycle, over real HTTP."""

import threading
import time

import pytest
import requests
from chorus_pro import (
    ChorusProAuthError,
    ChorusProClient,
    ChorusProError,
    ChorusProFunctionalError,
    ChorusProRetryableError,
)
from chorus_pro.constants import ENVIRONMENTS
from chorus_pro.sandbox.fixtures import TOWN_HALL


def test_environment_urls_built_in():
    qualif = ChorusProClient("a", "b", "c", "d")
    assert qualif.base_url == "https://sandbox-api.piste.gouv.fr"
    assert qualif.token_url == "https://sandbox-oauth.piste.gouv.fr/api/oauth/token"
    prod = ChorusProClient("a", "b", "c", "d", environment="production")
    assert prod.base_url == ENVIRONMENTS["production"]["base_url"]
    assert prod.token_url == "https://oauth.piste.gouv.fr/api/oauth/token"
    proxy = ChorusProClient("a", "b", "c", "d", base_url="http://127.0.0.1:1/")
    assert proxy.token_url == "http://127.0.0.1:1/api/oauth/token"
    with pytest.raises(ValueError):
        ChorusProClient("a", "b", "c", "d", environment="prod")
    with pytest.raises(ValueError):
        ChorusProClient("a", "", "c", "d")
    shown = repr(ChorusProClient("a", "b-secret", "c", "d-password"))
    assert "b-secret" not in shown and "d-password" not in shown


def test_bad_client_secret_is_an_auth_error(make_client, admin):
    client = make_client(client_secret="wrong")
    with pytest.raises(ChorusProAuthError) as info:
        client.health_check()
    assert info.value.http_status == 401
    assert info.value.reason == "Bad client credentials"
    assert admin.stats()["refused"] == {"bad_client_credentials": 1}


def test_bad_technical_account_is_an_auth_error(make_client, admin):
    client = make_client(password="wrong")
    with pytest.raises(ChorusProAuthError) as info:
        client.get_structure(TOWN_HALL.id)
    assert info.value.http_status == 401
    assert "cpro-account" in info.value.reason
    # The token was fresh: no pointless second try.
    assert admin.calls("/cpro/structures/v1/consulter") == 1
    assert admin.stats()["refused"] == {"bad_cpro_account": 1}


def test_unsubscribed_api_is_a_403_auth_error(client, admin):
    admin.config(unsubscribed_apis=["factures"])
    with pytest.raises(ChorusProAuthError) as info:
        client.search_invoices()
    assert info.value.http_status == 403
    assert "factures" in info.value.reason
    # Other APIs still work.
    assert client.get_structure(TOWN_HALL.id)["codeRetour"] == 0


def test_missing_and_unknown_tokens_are_refused(sandbox, admin):
    url = f"{sandbox.url}/cpro/structures/v1/consulter"
    missing = requests.post(url, json={"idStructureCPP": TOWN_HALL.id}, timeout=5)
    assert missing.status_code == 401
    unknown = requests.post(
        url,
        json={"idStructureCPP": TOWN_HALL.id},
        headers={"Authorization": "Bearer forged"},
        timeout=5,
    )
    assert unknown.status_code == 401
    assert "invalid_token" in unknown.headers["WWW-Authenticate"]
    assert admin.stats()["refused"] == {"missing_token": 1, "invalid_token": 1}


def test_wrong_content_type_and_body(sandbox, client, admin):
    token, _ = client._token()
    headers = {
        "Authorization": f"Bearer {token}",
        "cpro-account": client._cpro_account,
    }
    url = f"{sandbox.url}/cpro/structures/v1/consulter"
    as_form = requests.post(url, data={"idStructureCPP": 1}, headers=headers, timeout=5)
    assert as_form.status_code == 415
    headers["Content-Type"] = "application/json"
    not_json = requests.post(url, data=b"{oops", headers=headers, timeout=5)
    assert not_json.status_code == 400
    a_list = requests.post(url, data=b"[1, 2]", headers=headers, timeout=5)
    assert a_list.status_code == 400
    string_id = requests.post(url, json={"idStructureCPP": "25000201"}, headers=headers)
    assert string_id.status_code == 400
    assert admin.stats()["refused"] == {
        "content_type": 1,
        "invalid_json": 1,
        "wrong_type": 2,
    }


def test_functional_error_on_http_400_keeps_code_and_label(client):
    with pytest.raises(ChorusProFunctionalError) as info:
        client.search_invoices(invoice_type="FACTURETTE")
    assert info.value.http_status == 400
    assert info.value.code == 20002
    assert "typeFacture" in info.value.label


def test_functional_error_on_http_200(client):
    with pytest.raises(ChorusProFunctionalError) as info:
        client.get_invoice_history(424242)
    assert info.value.http_status == 200
    assert info.value.code == 20005
    assert info.value.payload["codeRetour"] == 20005


def test_nothing_found_is_empty_not_an_error(client, admin):
    assert client.search_invoices(invoice_number="NONE") == []
    # The sandbox did answer "nothing found" (20000), and the client took it.
    assert admin.calls("/cpro/factures/v1/rechercher/fournisseur") == 1


def test_unknown_path_is_a_plain_error(client):
    with pytest.raises(ChorusProError) as info:
        client._call("POST", "factures/v1/inexistant", {})
    assert type(info.value) is ChorusProError
    assert info.value.http_status == 404


def test_one_token_serves_many_calls(client, admin):
    for _ in range(20):
        client.get_structure(TOWN_HALL.id)
    assert admin.stats()["tokens_issued"] == 1


def test_token_is_refreshed_before_it_expires(client, admin):
    admin.config(token_lifetime=1)
    client.get_structure(TOWN_HALL.id)
    # The client refreshes at half the lifetime for such short tokens.
    time.sleep(0.6)
    client.get_structure(TOWN_HALL.id)
    stats = admin.stats()
    assert stats["tokens_issued"] == 2
    assert "expired_token" not in stats["refused"]


def test_token_expired_on_the_server_is_replaced_once(client, admin):
    client.get_structure(TOWN_HALL.id)
    admin.post("tokens/expire")
    assert client.get_structure(TOWN_HALL.id)["idStructureCPP"] == TOWN_HALL.id
    stats = admin.stats()
    assert stats["tokens_issued"] == 2
    assert stats["refused"] == {"expired_token": 1}
    assert stats["calls"]["/cpro/structures/v1/consulter"] == 3


def test_expired_token_is_never_sent(make_client, admin):
    """Even without a refresh margin, a token past ``expires_in`` is replaced
    before the call, not sent to be refused."""
    admin.config(token_lifetime=1)
    client = make_client(token_margin=0)
    client.get_structure(TOWN_HALL.id)
    time.sleep(1.05)
    client.get_structure(TOWN_HALL.id)
    stats = admin.stats()
    assert stats["refused"] == {}
    assert stats["tokens_issued"] == 2


def test_token_cache_shared_by_threads(make_client, admin):
    client = make_client()
    start = threading.Barrier(16)
    errors = []

    def worker():
        start.wait()
        try:
            for _ in range(5):
                client.get_structure(TOWN_HALL.id)
        except Exception as exc:  # collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stats = admin.stats()
    assert stats["tokens_issued"] == 1
    assert stats["calls"]["/cpro/structures/v1/consulter"] == 80


def test_clients_of_one_application_share_the_token(make_client, admin):
    make_client().get_structure(TOWN_HALL.id)
    make_client().get_structure(TOWN_HALL.id)
    assert admin.stats()["tokens_issued"] == 1


def test_connection_refused_is_retryable(sandbox):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = ChorusProClient(
        "sandbox-client",
        "sandbox-secret",
        "TECH_sandbox@cpro.fr",
        "sandbox-password",
        base_url=f"http://127.0.0.1:{port}",
        retries=1,
        backoff_factor=0.01,
    )
    with pytest.raises(ChorusProRetryableError) as info:
        client.health_check()
    assert not info.value.outcome_unknown
