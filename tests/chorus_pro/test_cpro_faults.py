"""Injected faults: what the client retries, what it never re-sends."""

import pytest
import requests
from chorus_pro import (
    ChorusProOutcomeUnknownError,
    ChorusProRetryableError,
)
from chorus_pro.constants import SYNTAX_UBL
from chorus_pro.sandbox.fixtures import PUBLIC_BODY, TOWN_HALL
from chorus_pro.sandbox.samples import SampleInvoice, build_flow

CONSULT = "/cpro/structures/v1/consulter"
DEPOSIT = "/cpro/factures/v1/deposer/flux"


def sample_flow(number="F-FAULT"):
    return build_flow(SYNTAX_UBL, [SampleInvoice(number, PUBLIC_BODY.siret)])


def test_read_retried_after_500(client, admin):
    admin.faults(error_500=1.0, count=2, paths=[CONSULT])
    assert client.get_structure(TOWN_HALL.id)["idStructureCPP"] == TOWN_HALL.id
    assert admin.calls(CONSULT) == 3
    assert admin.stats()["faults_injected"] == {"500": 2}


def test_read_gives_up_after_its_retries(make_client, admin):
    client = make_client(retries=2)
    admin.faults(error_500=1.0, paths=[CONSULT])
    with pytest.raises(ChorusProRetryableError) as info:
        client.get_structure(TOWN_HALL.id)
    assert info.value.http_status == 500
    assert not info.value.outcome_unknown
    assert admin.calls(CONSULT) == 3


def test_429_waits_for_retry_after(client, admin):
    admin.faults(error_429=1.0, count=1, retry_after=1, paths=[CONSULT])
    assert client.get_structure(TOWN_HALL.id)["idStructureCPP"] == TOWN_HALL.id
    stats = admin.stats()
    assert stats["faults_injected"] == {"429": 1}
    # Asking again inside the Retry-After window would have been refused again.
    assert stats["retry_after_violations"] == 0
    assert stats["calls"][CONSULT] == 2


def test_sandbox_catches_a_client_ignoring_retry_after(sandbox, client, admin):
    """Control for the test above: an immediate second request is counted."""
    admin.faults(error_429=1.0, count=1, retry_after=1, paths=[CONSULT])
    url = f"{sandbox.url}{CONSULT}"
    first = requests.post(url, json={}, timeout=5)
    second = requests.post(url, json={}, timeout=5)
    assert first.status_code == second.status_code == 429
    assert second.headers["Retry-After"] == "1"
    assert admin.stats()["retry_after_violations"] == 1


def test_long_retry_after_is_handed_to_the_caller(make_client, admin):
    client = make_client(max_retry_after=5)
    admin.faults(error_429=1.0, count=1, retry_after=120, paths=[CONSULT])
    with pytest.raises(ChorusProRetryableError) as info:
        client.get_structure(TOWN_HALL.id)
    assert info.value.http_status == 429
    assert info.value.retry_after == 120
    assert admin.calls(CONSULT) == 1


def test_latency_beyond_the_read_timeout(make_client, admin):
    client = make_client(read_timeout=0.2, retries=1)
    admin.faults(latency=0.5, paths=[CONSULT])
    with pytest.raises(ChorusProRetryableError) as info:
        client.get_structure(TOWN_HALL.id)
    assert not info.value.outcome_unknown
    assert admin.calls(CONSULT) == 2


def test_latency_within_the_read_timeout(make_client, admin):
    client = make_client(read_timeout=2.0, retries=0)
    admin.faults(latency=0.1, paths=[CONSULT])
    assert client.get_structure(TOWN_HALL.id)["idStructureCPP"] == TOWN_HALL.id


def test_dropped_connection_on_a_read_is_retried(client, admin):
    admin.faults(drop=1.0, count=1, paths=[CONSULT])
    assert client.get_structure(TOWN_HALL.id)["idStructureCPP"] == TOWN_HALL.id
    assert admin.calls(CONSULT) == 2
    assert admin.stats()["faults_injected"] == {"drop": 1}


def test_dropped_connections_exhaust_the_retries(make_client, admin):
    client = make_client(retries=1)
    admin.faults(drop=1.0, paths=[CONSULT])
    with pytest.raises(ChorusProRetryableError):
        client.get_structure(TOWN_HALL.id)
    assert admin.calls(CONSULT) == 2


def test_token_endpoint_faults_are_retried(client, admin):
    admin.faults(error_500=1.0, count=1, paths=["/api/oauth/token"])
    assert client.get_structure(TOWN_HALL.id)["idStructureCPP"] == TOWN_HALL.id
    stats = admin.stats()
    assert stats["calls"]["/api/oauth/token"] == 2
    assert stats["tokens_issued"] == 1


def test_accept_then_drop_deposit_is_not_resent(client, admin):
    admin.faults(accept_then_drop=1.0, count=1, paths=[DEPOSIT])
    content, name = sample_flow("F-ATD")
    with pytest.raises(ChorusProOutcomeUnknownError) as info:
        client.deposit_flow(content, name, SYNTAX_UBL)
    assert info.value.outcome_unknown
    assert isinstance(info.value, ChorusProRetryableError)
    stats = admin.stats()
    assert stats["calls"][DEPOSIT] == 1
    assert stats["deposits"] == 1
    assert stats["deposits_per_invoice"] == {"F-ATD": 1}
    # The caller looks the invoice up once the flow is processed: it arrived.
    admin.post("flows/complete")
    [found] = client.search_invoices(invoice_number="F-ATD")
    assert found["numeroFluxDepot"]
    assert admin.stats()["duplicates"] == 0


def test_dropped_deposit_is_unknown_and_not_resent(client, admin):
    admin.faults(drop=1.0, count=1, paths=[DEPOSIT])
    content, name = sample_flow()
    with pytest.raises(ChorusProOutcomeUnknownError):
        client.deposit_flow(content, name, SYNTAX_UBL)
    stats = admin.stats()
    assert stats["calls"][DEPOSIT] == 1
    assert stats["deposits"] == 0


def test_deposit_500_is_unknown_and_not_retried(client, admin):
    admin.faults(error_500=1.0, count=1, paths=[DEPOSIT])
    content, name = sample_flow()
    with pytest.raises(ChorusProOutcomeUnknownError) as info:
        client.deposit_flow(content, name, SYNTAX_UBL)
    assert info.value.http_status == 500
    assert admin.calls(DEPOSIT) == 1


def test_deposit_429_was_not_processed(client, admin):
    admin.faults(error_429=1.0, count=1, retry_after=1, paths=[DEPOSIT])
    content, name = sample_flow()
    with pytest.raises(ChorusProRetryableError) as info:
        client.deposit_flow(content, name, SYNTAX_UBL)
    assert not info.value.outcome_unknown
    assert info.value.retry_after == 1
    assert admin.calls(DEPOSIT) == 1


def test_deposit_read_timeout_is_unknown(make_client, admin):
    client = make_client(deposit_timeout=0.2)
    admin.faults(latency=0.5, paths=[DEPOSIT])
    content, name = sample_flow("F-SLOW")
    with pytest.raises(ChorusProOutcomeUnknownError):
        client.deposit_flow(content, name, SYNTAX_UBL)
    assert admin.calls(DEPOSIT) == 1


def test_deposit_refused_connection_is_safe_to_resend(sandbox, make_client, admin):
    """Nothing left the client: a plain retryable error, not an unknown outcome."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(
        base_url=f"http://127.0.0.1:{port}",
        token_url=f"{sandbox.url}/api/oauth/token",
    )
    content, name = sample_flow()
    with pytest.raises(ChorusProRetryableError) as info:
        client.deposit_flow(content, name, SYNTAX_UBL)
    assert not info.value.outcome_unknown
    assert admin.stats()["tokens_issued"] == 1


def test_faults_are_drawn_with_their_probability(make_client, admin):
    client = make_client(retries=0)
    admin.faults(error_500=0.5, seed=7, paths=[CONSULT])
    failures = 0
    for _ in range(60):
        try:
            client.get_structure(TOWN_HALL.id)
        except ChorusProRetryableError:
            failures += 1
    # Seeded, so deterministic; the bounds are 4 standard deviations wide.
    assert 15 <= failures <= 45
    assert admin.stats()["faults_injected"] == {"500": failures}
    assert admin.calls(CONSULT) == 60


def test_fault_settings_are_validated(admin):
    admin.post("faults", {"error_500": 2}, expect=400)
    admin.post("faults", {"no_such_fault": 1}, expect=400)
    admin.post("faults", {"latency": "1"}, expect=400)
    assert admin.get("faults")["error_500"] == 0
