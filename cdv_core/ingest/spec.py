"""One column specification per import kind: it drives reading, validation, templates and docs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from cdv_core.domain import model
from cdv_core.queries import acteurs

# Column types (French labels shown in the template's description sheet).
TYPE_LABELS: dict[str, str] = {
    "texte": "texte",
    "entier": "nombre entier",
    "montant": "montant en euros (virgule décimale acceptée, ≥ 0)",
    "decimal": "nombre (virgule décimale acceptée)",
    "taux": "part entre 0 et 1 (ou pourcentage : 45 %)",
    "date": "date JJ/MM/AAAA (ou AAAA-MM-JJ)",
    "booleen": "oui / non",
    "choix": "une valeur de la liste",
    "code_qp": "code QPV 2024 (QN + département + 2 chiffres + lettre, ex. QN07511M)",
    "siret": "SIRET, 14 chiffres (zéros de tête restaurés)",
    "siren": "SIREN, 9 chiffres (zéros de tête restaurés)",
    "rna": "numéro RNA (W + 9 caractères)",
    "insee_com": "code commune INSEE, 5 caractères (2A/2B pour la Corse)",
    "insee_dep": "code département, 2 ou 3 caractères",
    "liste_qp": "un ou plusieurs codes QPV séparés par ; ou ,",
    "liste_insee": "un ou plusieurs codes commune séparés par ; ou ,",
    "liste_siren": "un ou plusieurs SIREN séparés par ; ou ,",
    "liste": "une ou plusieurs valeurs séparées par ; ou ,",
    "valeur_secret": "nombre, ou nd / ns / s / so (secret statistique)",
    "geojson": "géométrie GeoJSON (Polygon ou MultiPolygon, longitude/latitude)",
}


@dataclass(frozen=True)
class Col:
    name: str
    type: str
    required: bool = False
    description: str = ""
    example: str = ""
    allowed: tuple[str, ...] = ()
    target: str | None = None  # store column when it differs (multi-value links: None)
    min_value: float | None = None
    max_value: float | None = None
    warn_only_allowed: bool = False  # unknown value = warning, not error


@dataclass(frozen=True)
class Ref:
    column: str
    table: str
    table_column: str
    label: str  # French noun for messages: « contrat », « porteur »
    feminine: bool = False  # grammatical gender of `label`: « action inconnue »


@dataclass(frozen=True)
class Kind:
    code: str
    label: str
    table: str
    key: tuple[str, ...]
    columns: tuple[Col, ...]
    refs: tuple[Ref, ...] = ()
    links: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # multi-value column → (link table,
    # key col, value col)
    # Detection (see `detect.detect_kind`) and header mapping (`detect.map_headers`):
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)  # column → headers (normalised: lower
    # case, no accents, single spaces) that name it in files of this kind
    detect_missing: int = 0  # required columns a file may lack and still be taken for this kind
    sure_columns: tuple[str, ...] = ()  # these columns found: the file is of this kind, whatever else
    first_header: str | None = None  # (normalised) a file whose first header is this one is of this kind
    exact_headers: frozenset[str] = frozenset()  # (normalised) a file with exactly these headers is of this kind

    def col(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


class _Bounds(TypedDict):
    min_value: float
    max_value: float


_YEAR: _Bounds = {"min_value": 2014, "max_value": 2035}

TEMPLATES: tuple[Kind, ...] = (
    Kind(
        "contrats",
        "Contrats de ville",
        "contrat",
        ("code_contrat",),
        (
            Col("code_contrat", "texte", True, "Code unique du contrat", "CV-075-PARIS"),
            Col("libelle", "texte", True, "Nom du contrat", "Contrat de ville de Paris"),
            Col("type_signataire", "choix", True, "Collectivité signataire", "EPCI", ("EPCI", "commune", "EPT")),
            Col("siren_signataire", "siren", False, "SIREN de la collectivité signataire", "217500016"),
            Col("insee_dep", "insee_dep", True, "Département", "75"),
            Col("insee_reg", "texte", False, "Code région INSEE", "11"),
            Col("territoire", "choix", False, "Hexagone ou outre-mer", "hexagone", ("hexagone", "outre-mer")),
            Col("date_signature", "date", False, "Date de signature", "31/03/2024"),
            Col("date_debut", "date", True, "Début de la période du contrat", "01/01/2024"),
            Col("date_fin", "date", True, "Fin de la période du contrat", "31/12/2030"),
            Col("signataires", "texte", False, "Signataires (texte libre)", "Préfet ; Maire ; CAF"),
        ),
    ),
    Kind(
        "quartiers",
        "Quartiers prioritaires (QPV)",
        "quartier",
        ("code_qp",),
        (
            Col("code_qp", "code_qp", True, "Code QPV 2024", "QN07511M"),
            Col("libelle", "texte", True, "Nom du quartier", "Goutte d'Or"),
            Col("code_contrat", "texte", True, "Contrat de ville du quartier", "CV-075-PARIS"),
            Col("insee_dep", "insee_dep", True, "Département", "75"),
            Col("insee_com", "insee_com", True, "Commune principale", "75056"),
            Col(
                "lib_com",
                "texte",
                True,
                "Nom de la commune (toutes, séparées par « ; » et dans l'ordre des codes, "
                "pour un quartier sur plusieurs communes)",
                "Paris",
            ),
            Col("communes", "liste_insee", False, "Toutes les communes du quartier", "75056"),
            Col("siren_epci", "siren", False, "SIREN de l'EPCI", "200054781"),
            Col("population", "entier", False, "Population du quartier", "21500", min_value=0),
            Col("longitude", "decimal", False, "Longitude du centre", "2,3536", min_value=-180, max_value=180),
            Col("latitude", "decimal", False, "Latitude du centre", "48,8855", min_value=-90, max_value=90),
        ),
        refs=(Ref("code_contrat", "contrat", "code_contrat", "contrat"),),
    ),
    Kind(
        "projets_quartier",
        "Projets de quartier",
        "projet_quartier",
        ("code_qp",),
        (
            Col("code_qp", "code_qp", True, "Quartier", "QN07511M"),
            Col("code_contrat", "texte", True, "Contrat", "CV-075-PARIS"),
            Col("libelle", "texte", True, "Intitulé du projet de quartier", "Projet Goutte d'Or 2030"),
            Col("enjeux", "texte", False, "Enjeux (texte libre)", "Emploi des jeunes ; tranquillité"),
            Col("date_validation", "date", False, "Date de validation", "15/06/2024"),
        ),
        refs=(
            Ref("code_qp", "quartier", "code_qp", "quartier"),
            Ref("code_contrat", "contrat", "code_contrat", "contrat"),
        ),
    ),
    Kind(
        "objectifs",
        "Objectifs",
        "objectif",
        ("code_objectif",),
        (
            Col("code_objectif", "texte", True, "Code unique de l'objectif", "OBJ-075-01"),
            Col("code_contrat", "texte", True, "Contrat", "CV-075-PARIS"),
            Col("code_qp", "code_qp", False, "Quartier (vide : socle transversal du contrat)", "QN07511M"),
            Col("axe", "choix", True, "Axe Quartiers 2030", model.AXES[0], model.AXES, warn_only_allowed=True),
            Col("libelle", "texte", True, "Intitulé de l'objectif", "Accompagner 200 jeunes vers l'emploi"),
            Col("date_creation", "date", False, "Date de création", "31/03/2024"),
        ),
        refs=(
            Ref("code_contrat", "contrat", "code_contrat", "contrat"),
            Ref("code_qp", "quartier", "code_qp", "quartier"),
        ),
    ),
    Kind(
        "porteurs",
        "Porteurs",
        "porteur",
        ("id_porteur",),
        (
            Col("id_porteur", "texte", False, "Identifiant (vide : SIRET, sinon RNA)", "78467169500087"),
            Col("siret", "siret", False, "SIRET (14 chiffres)", "78467169500087"),
            Col("rna", "rna", False, "Numéro RNA", "W751234567"),
            Col("nom", "texte", True, "Raison sociale", "Association Les Enfants de la Goutte d'Or"),
            Col(
                "type_structure", "choix", True, "Type de structure", "association avec salariés", model.TYPES_STRUCTURE
            ),
            Col("insee_com", "insee_com", False, "Commune du siège", "75118"),
            Col("contact_nom", "texte", False, "Personne à contacter pour les bilans (relances)", "Camille Martin"),
            Col("contact_email", "texte", False, "Adresse électronique du contact", "contact@asso-exemple.fr"),
            Col("contact_telephone", "texte", False, "Téléphone du contact", "01 23 45 67 89"),
        ),
    ),
    Kind(
        "actions",
        "Actions",
        "action",
        ("code_action",),
        (
            Col("code_action", "texte", True, "Code unique de l'action (n° de dossier)", "2024-075-0001"),
            Col("code_contrat", "texte", True, "Contrat", "CV-075-PARIS"),
            Col("id_porteur", "texte", True, "Porteur (identifiant du modèle « porteurs »)", "78467169500087"),
            Col("libelle", "texte", True, "Intitulé de l'action", "Soutien scolaire au collège"),
            Col("thematique", "choix", True, "Thématique P147 (code)", "1.1", tuple(model.THEMATIQUES_P147)),
            Col("mode_financement", "choix", True, "Mode de financement", "AAP", model.MODES_FINANCEMENT),
            Col("annee_debut", "entier", True, "Première année", "2024", **_YEAR),
            Col("annee_fin", "entier", True, "Dernière année", "2024", **_YEAR),
            Col("date_debut", "date", False, "Début", "01/09/2024"),
            Col("date_fin", "date", False, "Fin", "30/06/2025"),
            Col("statut", "choix", True, "Statut", "accordée", model.STATUTS_ACTION),
            Col("avancement", "taux", False, "Avancement (0 à 1, ou %)", "40 %", min_value=0, max_value=1),
            Col("hors_qpv", "booleen", False, "Action hors QPV (poche de pauvreté)", "non"),
            Col("date_decision", "date", False, "Date de décision", "15/04/2024"),
            Col("date_statut", "date", False, "Date du dernier point d'avancement", "30/09/2024"),
            Col(
                "quartiers",
                "liste_qp",
                False,
                "Quartiers servis (remplace la liste existante)",
                "QN07511M; QN07512M",
                target=None,
            ),
            Col(
                "objectifs", "liste", False, "Objectifs servis (remplace la liste existante)", "OBJ-075-01", target=None
            ),
        ),
        refs=(
            Ref("code_contrat", "contrat", "code_contrat", "contrat"),
            Ref("id_porteur", "porteur", "id_porteur", "porteur"),
            Ref("quartiers", "quartier", "code_qp", "quartier"),
            Ref("objectifs", "objectif", "code_objectif", "objectif"),
        ),
        links={
            "quartiers": ("action_quartier", "code_action", "code_qp"),
            "objectifs": ("action_objectif", "code_action", "code_objectif"),
        },
    ),
    Kind(
        "financements",
        "Financements",
        "financement",
        ("code_action", "financeur", "annee"),
        (
            Col("code_action", "texte", True, "Action", "2024-075-0001"),
            Col("financeur", "choix", True, "Financeur", "État P147", model.FINANCEURS),
            Col("annee", "entier", True, "Exercice", "2024", **_YEAR),
            Col("montant_demande", "montant", False, "Montant demandé (€)", "12 000"),
            Col("montant_accorde", "montant", False, "Montant accordé (€)", "10 000"),
            Col("montant_verse", "montant", False, "Montant versé (€)", "5 000"),
            Col("date_demande", "date", False, "Date de la demande", "15/01/2024"),
            Col("date_decision", "date", False, "Date de décision", "15/04/2024"),
            Col("date_versement", "date", False, "Date du (dernier) versement", "15/06/2024"),
        ),
        refs=(Ref("code_action", "action", "code_action", "action", feminine=True),),
    ),
    Kind(
        "bilans",
        "Bilans des porteurs",
        "bilan_action",
        ("code_action", "annee"),
        (
            Col("code_action", "texte", True, "Action", "2024-075-0001"),
            Col("annee", "entier", True, "Exercice dont le bilan rend compte (une année de l'action)", "2024", **_YEAR),
            Col("date_reception", "date", True, "Date de réception du bilan", "15/05/2025"),
            Col(
                "statut",
                "choix",
                True,
                "Statut du bilan : reçu (à examiner), accepté, à compléter",
                "accepté",
                model.STATUTS_BILAN,
            ),
            Col("commentaire", "texte", False, "Commentaire (ce qui manque, suite donnée)", ""),
        ),
        refs=(Ref("code_action", "action", "code_action", "action", feminine=True),),
    ),
    Kind(
        "indicateurs",
        "Indicateurs",
        "indicateur",
        ("code_indicateur",),
        (
            Col("code_indicateur", "texte", True, "Code unique", "TX_PAUVRETE"),
            Col("libelle", "texte", True, "Intitulé", "Taux de pauvreté"),
            Col("unite", "texte", True, "Unité", "%"),
            Col("sens", "choix", True, "Sens souhaité", "baisse", tuple(model.SENS_INDICATEUR)),
            Col("source", "texte", False, "Source", "INSEE Filosofi"),
            Col("axe", "texte", False, "Axe", model.AXES[0]),
            Col("agregation", "choix", False, "Agrégation", "moyenne pondérée", ("somme", "moyenne pondérée")),
        ),
    ),
    Kind(
        "valeurs_indicateurs",
        "Valeurs d'indicateurs",
        "valeur_indicateur",
        ("code_indicateur", "type_territoire", "code_territoire", "date_valeur"),
        (
            Col("code_indicateur", "texte", True, "Indicateur", "TX_PAUVRETE"),
            Col(
                "type_territoire",
                "choix",
                True,
                "Type de territoire",
                "QPV",
                ("QPV", "commune", "EPCI", "unité urbaine", "département", "France"),
            ),
            Col("code_territoire", "texte", True, "Code du territoire", "QN07511M"),
            Col("date_valeur", "date", True, "Date de la valeur", "01/01/2021"),
            Col("valeur", "valeur_secret", True, "Valeur, ou nd / ns / s / so", "42,3"),
            Col(
                "numerateur",
                "decimal",
                False,
                "Numérateur d'un taux (ex. nombre de chômeurs), avec le dénominateur : "
                "l'ensemble de plusieurs QPV est alors recalculé sur les sommes",
                "931",
                min_value=0,
            ),
            Col(
                "denominateur",
                "decimal",
                False,
                "Dénominateur d'un taux (ex. population active) ; valeur = numérateur / dénominateur × 100 pour un %",
                "2201",
                min_value=0,
            ),
            Col(
                "sexe",
                "texte",
                False,
                "Ventilation par sexe (vide : ensemble de la population) ; une ligne par "
                "sexe, en plus de la ligne de l'ensemble",
                "",
                model.SEXES,
            ),
            Col(
                "tranche_age",
                "texte",
                False,
                "Ventilation par tranche d'âge (vide : tous âges), ex. « moins de 26 ans », "
                "« 26 à 49 ans », « 50 ans et plus » ; une ligne ventile par sexe ou par âge, pas les deux",
                "",
            ),
        ),
        refs=(Ref("code_indicateur", "indicateur", "code_indicateur", "indicateur"),),
    ),
    Kind(
        "cibles_indicateurs",
        "Références et cibles d'indicateurs",
        "cible_indicateur",
        ("code_indicateur", "code_qp"),
        (
            Col("code_indicateur", "texte", True, "Indicateur", "TX_PAUVRETE"),
            Col("code_qp", "code_qp", True, "Quartier", "QN07511M"),
            Col("valeur_reference", "decimal", False, "Valeur de référence (situation de départ)", "42,3"),
            Col("date_reference", "date", False, "Date de la référence", "01/01/2021"),
            Col("valeur_cible", "decimal", False, "Valeur cible", "38"),
            Col("date_cible", "date", False, "Échéance de la cible", "31/12/2030"),
            Col(
                "valeur_cible_intermediaire",
                "decimal",
                False,
                "Cible intermédiaire (ex. à l'actualisation 2027), entre la référence et la cible",
                "40,5",
            ),
            Col(
                "date_cible_intermediaire",
                "date",
                False,
                "Échéance de la cible intermédiaire, entre la date de référence et celle de la cible",
                "31/12/2027",
            ),
        ),
        refs=(
            Ref("code_indicateur", "indicateur", "code_indicateur", "indicateur"),
            Ref("code_qp", "quartier", "code_qp", "quartier"),
        ),
    ),
    Kind(
        "instances",
        "Instances de gouvernance",
        "instance",
        ("code_instance",),
        (
            Col("code_instance", "texte", True, "Code unique", "COPIL-075"),
            Col("code_contrat", "texte", True, "Contrat", "CV-075-PARIS"),
            Col("code_qp", "code_qp", False, "Quartier (vide : tout le contrat)", ""),
            Col("type_instance", "choix", True, "Type", "COPIL", tuple(model.TYPES_INSTANCE)),
            Col("libelle", "texte", True, "Intitulé", "Comité de pilotage"),
            Col("cadence_mois", "entier", True, "Cadence attendue (mois)", "12", min_value=1, max_value=36),
            Col("date_creation", "date", False, "Date de création", "31/03/2024"),
        ),
        refs=(
            Ref("code_contrat", "contrat", "code_contrat", "contrat"),
            Ref("code_qp", "quartier", "code_qp", "quartier"),
        ),
    ),
    Kind(
        "reunions",
        "Réunions",
        "reunion",
        ("id_reunion",),
        (
            Col("id_reunion", "texte", True, "Identifiant unique", "COPIL-075-2024-1"),
            Col("code_instance", "texte", True, "Instance", "COPIL-075"),
            Col("date_reunion", "date", True, "Date", "12/11/2024"),
            Col("statut", "choix", True, "Statut", "tenue", model.STATUTS_REUNION),
            Col("nb_participants", "entier", False, "Participants", "25", min_value=0),
            Col("nb_habitants", "entier", False, "Dont habitants", "4", min_value=0),
            Col("objet", "texte", False, "Objet", "Bilan annuel"),
            Col("lien_compte_rendu", "texte", False, "Lien vers le compte rendu", ""),
        ),
        refs=(Ref("code_instance", "instance", "code_instance", "instance", feminine=True),),
    ),
    Kind(
        "decisions",
        "Décisions",
        "decision",
        ("id_decision",),
        (
            Col("id_decision", "texte", True, "Identifiant unique", "DEC-2024-001"),
            Col("id_reunion", "texte", True, "Réunion", "COPIL-075-2024-1"),
            Col("libelle", "texte", True, "Décision", "Lancer l'appel à projets 2025"),
            Col("responsable", "texte", False, "Responsable", "Chef de projet"),
            Col("date_echeance", "date", False, "Échéance", "31/01/2025"),
            Col("statut", "choix", True, "Statut", "à faire", model.STATUTS_DECISION),
        ),
        refs=(Ref("id_reunion", "reunion", "id_reunion", "réunion", feminine=True),),
    ),
    Kind(
        "jalons",
        "Jalons",
        "jalon",
        ("id_jalon",),
        (
            Col("id_jalon", "texte", True, "Identifiant unique", "J-075-2027"),
            Col("code_contrat", "texte", True, "Contrat", "CV-075-PARIS"),
            Col("type_jalon", "choix", True, "Type", "actualisation 2027", model.TYPES_JALON),
            Col("libelle", "texte", True, "Intitulé", "Actualisation du contrat"),
            Col("date_prevue", "date", True, "Date prévue", "30/06/2027"),
            Col("date_realisation", "date", False, "Date de réalisation", ""),
            Col("annee", "entier", False, "Année concernée", "2027", **_YEAR),
        ),
        refs=(Ref("code_contrat", "contrat", "code_contrat", "contrat"),),
    ),
    # The local system of actors and the contract's team (migration 0004, docs/acteurs.md).
    Kind(
        "acteurs",
        "Acteurs (typologies, domaines, quartiers)",
        "acteur",
        ("id_acteur",),
        (
            Col(
                "id_acteur",
                "texte",
                True,
                "Identifiant : celui du porteur (id_porteur) pour compléter un porteur, "
                "sinon un code de votre choix (acteur sans financement)",
                "ACT-CV-075-PARIS-1",
            ),
            Col(
                "code_contrat",
                "texte",
                False,
                "Contrat (obligatoire pour un acteur qui n'est pas un porteur ; vide : réservé aux administrateurs)",
                "CV-075-PARIS",
            ),
            Col(
                "nom",
                "texte",
                False,
                "Nom (vide pour un porteur : sa raison sociale est reprise)",
                "Collectif des habitants de la Goutte d'Or",
            ),
            Col(
                "type_structure",
                "choix",
                False,
                "Type de structure (obligatoire pour un acteur qui n'est pas un porteur)",
                "association sans salarié",
                model.TYPES_STRUCTURE,
            ),
            Col("siret", "siret", False, "SIRET (14 chiffres)", ""),
            Col("rna", "rna", False, "Numéro RNA", ""),
            Col(
                "mode_intervention",
                "choix",
                False,
                "Mode d'intervention",
                "installé dans le quartier",
                acteurs.MODES_INTERVENTION,
            ),
            Col("commentaire", "texte", False, "Commentaire", ""),
            Col(
                "domaines",
                "liste",
                False,
                "Domaines d'intervention (remplace la liste existante)",
                "médiation; participation",
                acteurs.DOMAINES,
                target=None,
            ),
            Col(
                "quartiers",
                "liste_qp",
                False,
                "Quartiers où l'acteur agit en plus de ceux de ses actions (remplace la liste existante)",
                "QN07511M",
                target=None,
            ),
        ),
        refs=(
            Ref("code_contrat", "contrat", "code_contrat", "contrat"),
            Ref("quartiers", "quartier", "code_qp", "quartier"),
        ),
        links={
            "domaines": ("acteur_domaine", "id_acteur", "domaine"),
            "quartiers": ("acteur_quartier", "id_acteur", "code_qp"),
        },
    ),
    Kind(
        "postes",
        "Postes de l'équipe (ingénierie)",
        "poste",
        ("id_poste",),
        (
            Col("id_poste", "texte", True, "Identifiant unique du poste", "POSTE-075-CDP1"),
            Col("code_contrat", "texte", False, "Contrat (vide : réservé aux administrateurs)", "CV-075-PARIS"),
            Col("code_qp", "code_qp", False, "Quartier servi par le poste (vide : tout le contrat)", ""),
            Col(
                "type_poste",
                "choix",
                True,
                "Type de poste",
                "chef de projet politique de la ville",
                acteurs.TYPES_POSTE,
            ),
            Col("intitule", "texte", False, "Intitulé du poste", "Cheffe de projet politique de la ville"),
            Col("titulaire", "texte", False, "Titulaire", "Camille Martin"),
            Col("employeur", "texte", True, "Employeur", "Ville de Paris"),
            Col("id_employeur", "texte", False, "Identifiant de l'employeur quand c'est un porteur ou un acteur", ""),
            Col("siret_employeur", "siret", False, "SIRET de l'employeur (14 chiffres)", "21750001600019"),
            Col("etp", "decimal", True, "Équivalent temps plein, de 0,01 à 2", "1", min_value=0.01, max_value=2),
            Col("date_debut", "date", False, "Début du poste", "01/01/2024"),
            Col("date_fin", "date", False, "Fin du poste (vide : sans terme connu)", ""),
            Col(
                "niveau_responsabilite",
                "choix",
                False,
                "Niveau de responsabilité",
                "pilotage",
                acteurs.NIVEAUX_RESPONSABILITE,
            ),
            Col("elu_referent", "texte", False, "Élu référent", "Adjoint au maire chargé de la politique de la ville"),
            Col("cout_annuel", "montant", False, "Coût annuel connu (€)", "62 000"),
        ),
        refs=(
            Ref("code_contrat", "contrat", "code_contrat", "contrat"),
            Ref("code_qp", "quartier", "code_qp", "quartier"),
        ),
    ),
    Kind(
        "financements_postes",
        "Financements des postes",
        "financement_poste",
        ("id_poste", "financeur", "annee"),
        (
            Col("id_poste", "texte", True, "Poste (identifiant du modèle « postes »)", "POSTE-075-CDP1"),
            Col("financeur", "choix", True, "Financeur", "État P147", model.FINANCEURS),
            Col("annee", "entier", True, "Année", "2024", **_YEAR),
            Col("montant", "montant", True, "Montant de l'année (€)", "25 000"),
        ),
        refs=(Ref("id_poste", "poste", "id_poste", "poste"),),
    ),
)

# The official ANCT list (listeqp2024-cog2024.csv) — read as is, mapped onto contrat + quartier.
OFFICIAL_QPV = Kind(
    "liste_qpv",
    "Liste officielle des QPV (ANCT)",
    "quartier",
    ("code_qp",),
    (
        Col("code_qp", "code_qp", True, "Code QPV 2024", "QN00101M"),
        Col("lib_qp", "texte", True, "Nom du quartier", "Grande Reyssouze"),
        Col("insee_reg", "texte", False, "Région", "84"),
        Col("lib_reg", "texte", False, "Nom de la région", "Auvergne-Rhône-Alpes"),
        Col("insee_dep", "insee_dep", True, "Département", "01"),
        Col("lib_dep", "texte", False, "Nom du département", "Ain"),
        Col("insee_com", "liste_insee", True, "Commune, ou communes séparées par ; ou ,", "01053"),
        Col("lib_com", "texte", True, "Nom de la commune (ou des communes)", "Bourg-en-Bresse"),
        Col("siren_epci", "liste_siren", False, "SIREN de l'EPCI (le premier si plusieurs)", "200071751"),
        Col("lib_epci", "texte", False, "Nom de l'EPCI", "CA du Bassin de Bourg-en-Bresse"),
    ),
    sure_columns=("code_qp", "lib_qp", "insee_com"),
)

# Official QPV contours (GeoJSON FeatureCollection, one feature per QPV, property code_qp).
CONTOURS_QPV = Kind(
    "contours_qpv",
    "Contours des QPV (GeoJSON officiel)",
    "quartier",
    ("code_qp",),
    (
        Col("code_qp", "code_qp", True, "Code QPV 2024 (propriété code_qp)", "QN00101M"),
        Col("contour", "geojson", True, "Géométrie du quartier", '{"type":"MultiPolygon","coordinates":[…]}'),
    ),
    exact_headers=frozenset({"code qp", "contour"}),
)

# INSEE « wide » files: CODGEO then one column per variable; each variable is mapped to an indicator.
INSEE_WIDE = Kind(
    "insee",
    "Fichier INSEE « large » (CODGEO + une colonne par variable)",
    "valeur_indicateur",
    ("code_indicateur", "type_territoire", "code_territoire", "date_valeur"),
    (Col("CODGEO", "texte", True, "Code du territoire (QPV, commune, EPCI, département)", "QN00101M"),),
    first_header="codgeo",
)

# Header synonyms for programmation extracts (normalised: lower case, no accents, single spaces).
PROGRAMMATION_SYNONYMS: dict[str, tuple[str, ...]] = {
    "code_action": (
        "n dossier",
        "no dossier",
        "numero de dossier",
        "numero dossier",
        "n° dossier",
        "code dossier",
        "reference dossier",
        "code action",
        "code de l action",
        "identifiant dossier",
    ),
    "annee": ("exercice", "annee", "annee de programmation", "exercice budgetaire"),
    "code_contrat": ("code contrat ville", "code contrat de ville", "contrat de ville", "code contrat", "contrat"),
    "libelle": (
        "libelle de l action",
        "libelle action",
        "intitule de l action",
        "intitule action",
        "intitule",
        "libelle du dossier",
        "objet du dossier",
        "action",
        "nom de l operation",
        "intitule de l operation",
        "libelle de l operation",
        "operation",
        "nom de l action",
        "intitule du projet",
        "nom du projet",
    ),
    "siret": ("code siret", "siret", "n siret", "numero siret", "siret du porteur"),
    "rna": ("rna", "numero rna", "code rna", "n rna"),
    "nom_porteur": ("raison sociale", "porteur", "nom du porteur", "structure", "beneficiaire", "organisme"),
    "type_structure": ("type de structure", "statut juridique", "type structure", "categorie de structure"),
    "thematique": ("theme", "thematique", "code thematique", "code theme", "sous theme", "thematique p147"),
    "financeur": ("financeur", "financeurs", "organisme financeur"),
    "mode_financement": ("mode de financement", "type de financement", "nature du financement", "cpo aap"),
    "statut": ("statut", "etat du dossier", "statut du dossier", "etat"),
    "montant_demande": ("montant demande", "montant sollicite", "montant de la demande"),
    "montant_accorde": (
        "montant engage",
        "montant accorde",
        "montant vote",
        "montant attribue",
        "montant programme",
        "subvention accordee",
        "subvention",
        "montant de la subvention",
        "montant subvention",
        "subvention attribuee",
        "subvention votee",
    ),
    "montant_verse": ("montant verse", "montant paye", "montant mandate", "montant regle"),
    "date_decision": ("date de decision", "date decision", "date du vote", "date de la decision"),
    "quartiers": (
        "quartiers",
        "quartier",
        "qpv",
        "code qpv",
        "codes qpv",
        "quartier prioritaire",
        "quartiers prioritaires",
        "quartier s prioritaire s",
        "code quartier",
    ),
}

# Programmation / Dauphin-style extracts: one row per dossier × financeur × exercice.
PROGRAMMATION = Kind(
    "programmation",
    "Programmation (extraction Dauphin ou tableur)",
    "financement",
    ("code_action", "financeur", "annee"),
    (
        Col("code_action", "texte", True, "N° de dossier / code de l'action", "2024-075-0001"),
        Col("annee", "entier", True, "Exercice", "2024", **_YEAR),
        Col("code_contrat", "texte", True, "Code du contrat de ville", "CV-075-PARIS"),
        Col("libelle", "texte", True, "Libellé de l'action", "Soutien scolaire"),
        Col("siret", "siret", False, "SIRET du porteur", "78467169500087"),
        Col("rna", "rna", False, "RNA du porteur", "W751234567"),
        Col("nom_porteur", "texte", True, "Raison sociale du porteur", "Association Réussir"),
        Col("type_structure", "choix", False, "Type de structure", "association avec salariés", model.TYPES_STRUCTURE),
        Col("thematique", "choix", True, "Thème (code P147 ou libellé)", "1.1", tuple(model.THEMATIQUES_P147)),
        Col("financeur", "choix", False, "Financeur (défaut : État P147)", "État P147", model.FINANCEURS),
        Col("mode_financement", "choix", False, "Mode de financement (défaut : AAP)", "AAP", model.MODES_FINANCEMENT),
        Col("statut", "choix", False, "Statut du dossier", "accordée", model.STATUTS_ACTION),
        Col("montant_demande", "montant", False, "Montant demandé", "12 000"),
        Col("montant_accorde", "montant", True, "Montant engagé / accordé", "10 000"),
        Col("montant_verse", "montant", False, "Montant versé", "5 000"),
        Col("date_decision", "date", False, "Date de décision", "15/04/2024"),
        Col("quartiers", "liste_qp", False, "Quartiers prioritaires (un ou plusieurs codes)", "QN07511M"),
    ),
    refs=(
        Ref("code_contrat", "contrat", "code_contrat", "contrat"),
        Ref("quartiers", "quartier", "code_qp", "quartier"),
    ),
    synonyms=PROGRAMMATION_SYNONYMS,
    detect_missing=1,
)

# National lists of adulte-relais posts (docs/acteurs.md): the ANCT open data (`adulte-relais-2023.json`,
# our column names) and GISPRO extracts (« N° poste », « Raison sociale longue », « Mt engagé »…).
ADULTES_RELAIS_SYNONYMS: dict[str, tuple[str, ...]] = {
    "id_poste": (
        "n poste",
        "no poste",
        "n du poste",
        "numero de poste",
        "numero poste",
        "numero du poste",
        "identifiant poste",
        "identifiant du poste",
        "id poste",
        "code poste",
        "reference poste",
    ),
    "code_tiers": (
        "siret",
        "n siret",
        "no siret",
        "numero siret",
        "code siret",
        "siret employeur",
        "siret de l employeur",
        "siret structure",
        "siret du tiers",
        "code tiers",
        "siret tiers",
    ),
    "raison_sociale": (
        "raison sociale longue",
        "raison sociale",
        "employeur",
        "nom de l employeur",
        "structure employeuse",
        "nom employeur",
        "raison sociale employeur",
        "nom du tiers",
    ),
    "annee": ("annee", "exercice", "annee de financement", "annee budgetaire", "annee de l aide"),
    "montant": (
        "mt engage",
        "montant engage",
        "mt engage ae",
        "montant",
        "montant de l aide",
        "montant annuel",
        "aide de l etat",
        "montant de l engagement",
    ),
    "code_cv": (
        "code cv",
        "code contrat de ville",
        "code contrat ville",
        "code du contrat de ville",
        "n contrat de ville",
        "contrat de ville",
        "code contrat",
    ),
    "insee_dep": ("departement", "code departement", "dep", "code dep", "n departement", "numero departement"),
    "insee_reg": ("region", "code region", "reg", "code reg"),
}

ADULTES_RELAIS = Kind(
    "adultes-relais",
    "Liste nationale des adultes-relais (open data ANCT ou extraction GISPRO)",
    "poste",
    ("id_poste",),
    (
        Col("id_poste", "texte", True, "Identifiant national du poste (N° poste)", "06921R001000"),
        Col(
            "code_tiers",
            "texte",
            True,
            "SIRET de l'employeur, 14 chiffres (zéros de tête restaurés ; une clé de "
            "contrôle fausse est signalée, le poste conservé)",
            "43525312500015",
        ),
        Col("raison_sociale", "texte", True, "Raison sociale de l'employeur", "COMITE REGIONAL UFOLEP RHONE ALPES"),
        Col("annee", "entier", True, "Année du financement", "2024", **_YEAR),
        Col("montant", "montant", True, "Montant engagé par l'État (P147) pour l'année", "22 555,73"),
        Col("code_cv", "texte", False, "Code du contrat de ville 2015-2023 (CV000), conservé sur le poste", "CV246"),
        Col("insee_dep", "insee_dep", False, "Département", "69"),
        Col("insee_reg", "texte", False, "Région (ignorée)", "84"),
    ),
    synonyms=ADULTES_RELAIS_SYNONYMS,
)

KINDS: dict[str, Kind] = {
    k.code: k for k in (*TEMPLATES, OFFICIAL_QPV, CONTOURS_QPV, INSEE_WIDE, PROGRAMMATION, ADULTES_RELAIS)
}
