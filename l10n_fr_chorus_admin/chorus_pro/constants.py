"""Facts about the PISTE / Chorus Pro contract shared by the client and the sandbox.

Nothing here does I/O; every value comes from the public Chorus Pro documentation
(see ``shared/reference/chorus-pro-api.md`` in the project).
"""

QUALIFICATION = "qualification"
PRODUCTION = "production"

#: Token endpoint and API base URL of each PISTE environment.
ENVIRONMENTS = {
    PRODUCTION: {
        "token_url": "https://oauth.piste.gouv.fr/api/oauth/token",
        "base_url": "https://api.piste.gouv.fr",
    },
    QUALIFICATION: {
        "token_url": "https://sandbox-oauth.piste.gouv.fr/api/oauth/token",
        "base_url": "https://sandbox-api.piste.gouv.fr",
    },
}

#: Path of the token endpoint on a PISTE OAuth host (and on the local sandbox).
TOKEN_PATH = "/api/oauth/token"
#: Every business path starts with this prefix.
API_PREFIX = "/cpro/"

# Flow syntaxes (``syntaxeFlux``) the project supports.
SYNTAX_FACTURX = "IN_DP_E2_CII_FACTURX"
SYNTAX_UBL = "IN_DP_E1_UBL_INVOICE"
SYNTAX_CII = "IN_DP_E1_CII_16B"
SUPPORTED_SYNTAXES = (SYNTAX_FACTURX, SYNTAX_UBL, SYNTAX_CII)

# Invoice types (``typeFacture``).
TYPE_INVOICE = "FACTURE"
TYPE_CREDIT_NOTE = "AVOIR"
TYPE_DOWN_PAYMENT = "ACOMPTE"
INVOICE_TYPES = (TYPE_INVOICE, TYPE_CREDIT_NOTE, TYPE_DOWN_PAYMENT)

# Limits stated by Chorus Pro.
MAX_FLOW_BYTES = 120 * 1024 * 1024
#: Our own bound on the invoices of one multi-invoice flow (Chorus Pro states
#: only the size limit): a rejected flow stays small enough to follow.
MAX_FLOW_INVOICES = 100
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENT_NAME = 50
#: File types a supporting document (EN 16931 BG-24) may have (code list of
#: rule BR-CL-24), with the extensions its name may end with.
ATTACHMENT_TYPES = {
    "application/pdf": ("pdf",),
    "image/png": ("png",),
    "image/jpeg": ("jpg", "jpeg"),
    "text/csv": ("csv",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx",),
    "application/vnd.oasis.opendocument.spreadsheet": ("ods",),
}
#: What a supporting document is (its BT-123, in the list of the French rule
#: BR-FR-17): any other file is an appendix, the signed mandate a purchase order.
ATTACHMENT_KINDS = (
    "RIB",
    "LISIBLE",
    "FEUILLE_DE_STYLE",
    "PJA",
    "BORDEREAU_SUIVI",
    "DOCUMENT_ANNEXE",
    "BON_LIVRAISON",
    "BON_COMMANDE",
    "BORDEREAU_SUIVI_VALIDATION",
    "ETAT_ACOMPTE",
    "FACTURE_PAIEMENT_DIRECT",
    "RECAPITULATIF_COTRAITANCE",
)
ATTACHMENT_KIND_APPENDIX = "DOCUMENT_ANNEXE"
ATTACHMENT_KIND_PURCHASE_ORDER = "BON_COMMANDE"
MAX_INVOICE_NUMBER = 20
MAX_ENGAGEMENT_NUMBER = 50
MAX_SERVICE_CODE = 100

#: Service code reserved to invoicing between public entities: never valid for a
#: supplier's invoice.
RESERVED_SERVICE_CODE = "FACTURES_PUBLIQUES"

#: Page size Chorus Pro uses when a search does not ask for one.
DEFAULT_PAGE_SIZE = 10

# Return codes.
CODE_OK = 0
#: "Nothing found" on a search (with label ``TRA_MSG_00.015``): an empty result.
CODE_NOTHING_FOUND = 20000
LABEL_OK = "TRA_MSG_00.000"
LABEL_NOTHING_FOUND = "TRA_MSG_00.015"
#: A flow over the size limit.
CODE_FILE_TOO_LARGE = 20001
#: An attachment over the size limit.
CODE_ATTACHMENT_TOO_LARGE = 20003
