"""A local stand-in for PISTE and Chorus Pro, for tests and demos.

Start it with ``setup/chorus-sandbox --port 8899`` (or
``python3 -m chorus_pro.sandbox --port 8899`` with the add-on folder on
``sys.path``), or in-process::

    from chorus_pro.sandbox import SandboxServer
    with SandboxServer(port=0) as sandbox:
        client = ChorusProClient("sandbox-client", "sandbox-secret",
                                 "TECH_sandbox@cpro.fr", "sandbox-password",
                                 base_url=sandbox.url)

It listens on loopback only and serves, on one origin:

- ``POST /api/oauth/token``: OAuth2 client credentials (form body or HTTP Basic).
- the Chorus Pro paths under ``/cpro/`` the client uses, with the real request
  and answer keys, ``codeRetour``/``libelle`` on every answer, ``parametresRetour``
  paging and the real default page size (10).

It is strict where Chorus Pro is: a missing, unknown or expired token (401), a bad
``cpro-account`` header (401), an API the application did not subscribe to (403),
a body that is not a JSON object or has a wrong JSON type (400), an unknown
``syntaxeFlux``, a ``fichierFlux`` that is not base64 or does not parse as its
syntax says (XML for E1 syntaxes, a PDF carrying a Factur-X XML for
``IN_DP_E2_CII_FACTURX``, a ``.tar.gz`` of such files for multi-invoice flows).

Deposits are parsed and checked like Chorus Pro does after receiving them (XSD,
buyer SIRET, supplier SIRET, service code, engagement number, duplicates); the
flow is ``IN_RECU``, then pending on the next report calls
(``flow_polls_before_final``, default 1), then ``IN_INTEGRE``,
``IN_INTEGRE_PARTIEL`` (``listeErreurDP``) or ``IN_REJETE``. Integrated invoices
start ``DEPOSEE`` and move by the admin API or, when ``invoice_step_after`` is
set, by elapsed time along ``DEPOSEE`` → ``EN_COURS_ACHEMINEMENT`` →
``MISE_A_DISPOSITION`` → ``SERVICE_FAIT`` → ``MANDATEE`` → ``MISE_EN_PAIEMENT``.

Admin API (no authentication; JSON in and out):

==============================================  ==================================
``GET  /_sandbox/stats``                        deposits, invoices deposited,
                                                ``distinct_invoices``,
                                                ``duplicates`` and
                                                ``duplicate_numbers``,
                                                ``deposits_per_invoice``, flows
                                                and invoices by status,
                                                ``refused`` by reason, ``calls``
                                                by path, ``tokens_issued``,
                                                ``faults_injected``,
                                                ``retry_after_violations``
``POST /_sandbox/reset``                        forget everything but fixtures;
                                                body ``{"keep_config": true}``
                                                keeps the configuration,
                                                ``{"config": {...}}`` applies one
``GET|POST /_sandbox/config``                   read / change
                                                :class:`~.state.SandboxConfig`
                                                (``token_lifetime``,
                                                ``flow_polls_before_final``,
                                                ``flow_final_after``,
                                                ``invoice_step_after``,
                                                ``check_xsd``,
                                                ``unsubscribed_apis``,
                                                ``max_flow_bytes``,
                                                ``password_expiry_days``,
                                                credentials)
``GET|POST /_sandbox/faults``                   read / replace
                                                :class:`~.state.FaultConfig`:
                                                ``error_500``, ``error_429``
                                                (with ``retry_after`` seconds),
                                                ``drop``, ``accept_then_drop``
                                                (probabilities), ``latency``
                                                (seconds), ``count``, ``paths``,
                                                ``seed``
``POST /_sandbox/tokens/expire``                expire every token issued
``GET  /_sandbox/flows``                        every flow's report
``POST /_sandbox/flows/<numero>/complete``      make a flow final now; body
                                                ``{"etatCourantDepotFlux": s,
                                                "listeErreurTechnique": [...]}``
                                                forces the outcome (a failed
                                                one integrates nothing)
``POST /_sandbox/flows/complete``               make every pending flow final
``GET  /_sandbox/invoices``                     every integrated invoice
``POST /_sandbox/invoices/advance``             ``{"identifiantFactureCPP": id``
                                                or ``"numeroFacture": n,
                                                "statut": s, "commentaire": c,
                                                "dateHeure": iso}``: move an
                                                invoice (intermediate statuses
                                                of the usual path recorded;
                                                the optional
                                                ``PRISE_EN_COMPTE_DESTINATAIRE``,
                                                ``MISE_A_DISPOSITION_COMPTABLE``
                                                and ``COMPTABILISEE`` only when
                                                asked for)
``POST /_sandbox/engagements``                  ``{"numeroEngagementJuridique":
                                                n, "siretAcheteur": s}``: add a
                                                known engagement number
==============================================  ==================================

During a ``Retry-After`` window opened by an injected 429, every matching request
is answered 429 again and counted in ``retry_after_violations``, as a quota would.
"""

from .fixtures import (
    BUYERS,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_LOGIN,
    DEFAULT_PASSWORD,
    SUPPLIER,
)
from .server import SandboxServer
from .state import FaultConfig, SandboxConfig, SandboxState
