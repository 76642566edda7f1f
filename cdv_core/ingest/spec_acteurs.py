"""The kinds of the templates of the local system of actors and the contract's team (migration
0004, docs/acteurs.md): actors, posts and their funding."""

from __future__ import annotations

from cdv_core.domain import model
from cdv_core.ingest.spec_types import YEAR, Col, Kind, Ref
from cdv_core.queries import acteurs

ACTEURS_TEMPLATES: tuple[Kind, ...] = (
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
            Col("annee", "entier", True, "Année", "2024", **YEAR),
            Col("montant", "montant", True, "Montant de l'année (€)", "25 000"),
        ),
        refs=(Ref("id_poste", "poste", "id_poste", "poste"),),
    ),
)
