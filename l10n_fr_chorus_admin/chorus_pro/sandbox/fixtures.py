"""Demo data of the sandbox: the supplier, public buyers, services, engagements.

Every SIRET is fictitious but valid (SIREN and SIRET pass the Luhn check that
``stdnum.fr.siret`` applies). The buyers cover every requirement kind a Chorus
Pro structure can declare:

- ``engagement``: Ministère de la Démonstration (State) — an engagement number,
  checked against :data:`ENGAGEMENTS`;
- ``service``: Mairie de Démoville — a service code (its service ``ECOLES`` also
  requires an engagement number; 12 services, so they span two pages of 10);
- ``both``: Centre hospitalier de Démo — a service code and an engagement number;
- ``either``: Université de Démo — a service code or an engagement number;
- ``none``: Établissement public Démo — nothing;
- ``none``: Syndicat intercommunal Démo — nothing, and it never reports
  ``MISE_EN_PAIEMENT`` (``statutMiseEnPaiementNestPasRemonte``).

Every buyer also has the reserved ``FACTURES_PUBLIQUES`` service, which invoices
must never use, and some have an inactive service.
"""

from dataclasses import dataclass, field

REQUIREMENT_NONE = "none"
REQUIREMENT_SERVICE = "service"
REQUIREMENT_ENGAGEMENT = "engagement"
REQUIREMENT_BOTH = "both"
REQUIREMENT_EITHER = "either"

#: Non-secret demo credentials the sandbox accepts unless configured otherwise.
DEFAULT_CLIENT_ID = "sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-secret"
DEFAULT_LOGIN = "TECH_sandbox@cpro.fr"
DEFAULT_PASSWORD = "sandbox-password"


@dataclass(frozen=True)
class Service:
    id: int
    code: str
    label: str
    active: bool = True
    #: The service itself requires an engagement number.
    engagement_required: bool = False


@dataclass(frozen=True)
class Structure:
    id: int
    siret: str
    name: str
    requirement: str = REQUIREMENT_NONE
    #: The buyer never reports ``MISE_EN_PAIEMENT`` (stops at ``MANDATEE``).
    payment_status_not_reported: bool = False
    #: Engagement numbers are checked against :data:`ENGAGEMENTS` (State buyers).
    checks_engagement_registry: bool = False
    private: bool = False
    city: str = ""
    postcode: str = ""
    street: str = ""
    services: tuple = field(default_factory=tuple)

    @property
    def siren(self):
        return self.siret[:9]

    @property
    def service_required(self):
        return self.requirement in (REQUIREMENT_SERVICE, REQUIREMENT_BOTH)

    @property
    def engagement_required(self):
        return self.requirement in (REQUIREMENT_ENGAGEMENT, REQUIREMENT_BOTH)

    @property
    def either_required(self):
        return self.requirement == REQUIREMENT_EITHER

    def service_by_code(self, code):
        for service in self.services:
            if service.code == code:
                return service
        return None

    def service_by_id(self, service_id):
        for service in self.services:
            if service.id == service_id:
                return service
        return None


def _reserved(service_id):
    return Service(service_id, "FACTURES_PUBLIQUES", "Factures entre entités publiques")


#: The demo supplier: the company whose technical user the sandbox knows.
SUPPLIER = Structure(
    id=26000001,
    siret="90000001900019",
    name="Démo Hébergement SAS",
    private=True,
    street="1 rue de la Démonstration",
    postcode="59000",
    city="Lille",
)

STATE_MINISTRY = Structure(
    id=25000101,
    siret="11099001700011",
    name="Ministère de la Démonstration",
    requirement=REQUIREMENT_ENGAGEMENT,
    checks_engagement_registry=True,
    street="20 avenue de Ségur",
    postcode="75007",
    city="Paris",
    services=(
        Service(30010101, "DAF_ACHATS", "Direction des affaires financières - achats"),
        Service(30010102, "SG_INFORMATIQUE", "Secrétariat général - informatique"),
        Service(30010103, "ANCIEN_BUREAU", "Bureau fermé", active=False),
        _reserved(30010104),
    ),
)

TOWN_HALL = Structure(
    id=25000201,
    siret="21990001600011",
    name="Mairie de Démoville",
    requirement=REQUIREMENT_SERVICE,
    street="Place de la Mairie",
    postcode="99100",
    city="Démoville",
    services=(
        Service(30020101, "ECOLES", "Écoles", engagement_required=True),
        Service(30020102, "TECHNIQUE", "Services techniques"),
        Service(30020103, "CULTURE", "Culture et patrimoine"),
        Service(30020104, "SPORTS", "Sports"),
        Service(30020105, "VOIRIE", "Voirie"),
        Service(30020106, "ESPACES_VERTS", "Espaces verts"),
        Service(30020107, "ETAT_CIVIL", "État civil"),
        Service(30020108, "URBANISME", "Urbanisme"),
        Service(30020109, "CCAS", "Centre communal d'action sociale"),
        Service(30020110, "POLICE_MUNICIPALE", "Police municipale"),
        Service(30020111, "ANCIENNE_REGIE", "Régie dissoute", active=False),
        _reserved(30020112),
    ),
)

HOSPITAL = Structure(
    id=25000301,
    siret="26990001500018",
    name="Centre hospitalier de Démo",
    requirement=REQUIREMENT_BOTH,
    street="3 boulevard de l'Hôpital",
    postcode="99200",
    city="Démo-sur-Mer",
    services=(
        Service(30030101, "PHARMACIE", "Pharmacie"),
        Service(30030102, "DSI", "Direction des systèmes d'information"),
        _reserved(30030103),
    ),
)

UNIVERSITY = Structure(
    id=25000401,
    siret="19990001000018",
    name="Université de Démo",
    requirement=REQUIREMENT_EITHER,
    street="10 allée des Facultés",
    postcode="99300",
    city="Démoville",
    services=(
        Service(30040101, "DSI", "Direction du numérique"),
        Service(30040102, "BIBLIOTHEQUE", "Bibliothèque universitaire"),
        Service(30040103, "LABO_FERME", "Laboratoire fermé", active=False),
        _reserved(30040104),
    ),
)

PUBLIC_BODY = Structure(
    id=25000501,
    siret="18990001200015",
    name="Établissement public Démo",
    requirement=REQUIREMENT_NONE,
    street="5 quai de la République",
    postcode="99400",
    city="Démoport",
    services=(
        Service(30050101, "ACCUEIL", "Accueil"),
        _reserved(30050102),
    ),
)

SYNDICATE = Structure(
    id=25000601,
    siret="25990001700015",
    name="Syndicat intercommunal Démo",
    requirement=REQUIREMENT_NONE,
    payment_status_not_reported=True,
    street="7 chemin des Communes",
    postcode="99500",
    city="Démoval",
    services=(_reserved(30060101),),
)

BUYERS = (STATE_MINISTRY, TOWN_HALL, HOSPITAL, UNIVERSITY, PUBLIC_BODY, SYNDICATE)

#: Two structures sharing one SIRET (a main budget and an annex budget): a search
#: by that SIRET is ambiguous, which a supplier's software must report.
AMBIGUOUS = (
    Structure(
        id=25000701,
        siret="21990002400007",
        name="Communauté de communes Démo",
        city="Démoval",
        services=(_reserved(30070101),),
    ),
    Structure(
        id=25000702,
        siret="21990002400007",
        name="Communauté de communes Démo - budget annexe",
        city="Démoval",
        services=(_reserved(30070201),),
    ),
)
STRUCTURES = (SUPPLIER,) + BUYERS + AMBIGUOUS

#: Engagement numbers known to the State buyer's accounting system:
#: (number, buyer SIRET, supplier SIRET, state).
ENGAGEMENTS = (
    ("1300012345", STATE_MINISTRY.siret, SUPPLIER.siret, "COMMANDE"),
    ("1300067890", STATE_MINISTRY.siret, SUPPLIER.siret, "COMMANDE"),
    ("1300099999", STATE_MINISTRY.siret, SUPPLIER.siret, "CLOTURE"),
)


def structure_by_siret(siret):
    for structure in STRUCTURES:
        if structure.siret == siret:
            return structure
    return None


def structure_by_id(structure_id):
    for structure in STRUCTURES:
        if structure.id == structure_id:
            return structure
    return None
