"""The kinds of national files, read as they are published: the official QPV list and contours
(ANCT), INSEE wide files, programmation extracts (Dauphin or spreadsheet), the national list of
adultes-relais posts."""

from __future__ import annotations

from cdv_core.domain import model
from cdv_core.ingest.spec_types import YEAR, Col, Kind, Ref

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
        Col("annee", "entier", True, "Exercice", "2024", **YEAR),
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
        Col("annee", "entier", True, "Année du financement", "2024", **YEAR),
        Col("montant", "montant", True, "Montant engagé par l'État (P147) pour l'année", "22 555,73"),
        Col("code_cv", "texte", False, "Code du contrat de ville 2015-2023 (CV000), conservé sur le poste", "CV246"),
        Col("insee_dep", "insee_dep", False, "Département", "69"),
        Col("insee_reg", "texte", False, "Région (ignorée)", "84"),
    ),
    synonyms=ADULTES_RELAIS_SYNONYMS,
)

NATIONAL: tuple[Kind, ...] = (OFFICIAL_QPV, CONTOURS_QPV, INSEE_WIDE, PROGRAMMATION, ADULTES_RELAIS)
