"""Regenerate the bad-file corpus: `python tests/bad_files/make_corpus.py`.

Each file imitates a real mistake; `expected.csv` gives, for each file, the kind forced (empty:
detection) and a fragment of the French message the report must contain. The codes refer to the
demo territory (CV-DEMO-VERM, QN00281M, porteur 37002196811833)."""

from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent
H_ACTIONS = (
    "code_action;code_contrat;id_porteur;libelle;thematique;mode_financement;annee_debut;annee_fin;statut;quartiers"
)
ACTION_OK = "A-T-1;CV-DEMO-VERM;37002196811833;Soutien scolaire;1.1;AAP;2025;2025;accordée;QN00281M"
H_PORTEURS = "id_porteur;siret;rna;nom;type_structure"
H_FIN = "code_action;financeur;annee;montant_demande;montant_accorde;montant_verse"
H_QUARTIERS = "code_qp;libelle;code_contrat;insee_dep;insee_com;lib_com"
H_CONTRATS = "code_contrat;libelle;type_signataire;siren_signataire;insee_dep;date_debut;date_fin"
H_REUNIONS = "id_reunion;code_instance;date_reunion;statut;nb_participants;nb_habitants"

CASES: list[tuple[str, object, str, str]] = [
    # file name, content (str → UTF-8, bytes as is), forced kind, expected message fragment
    ("vide.csv", b"", "", "Le fichier est vide"),
    ("lignes_blanches.csv", "\n\n   \n", "", "Le fichier est vide"),
    ("entete_seul.csv", H_ACTIONS + "\n", "", "ne contient que l'en-tête"),
    ("binaire.csv", bytes(range(256)) * 8, "", "données binaires"),
    ("pdf_renomme.csv", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "", "données binaires"),
    ("ancien_excel.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "", "Excel ancien"),
    ("xlsx_endommage.xlsx", b"PK\x03\x04" + b"garbage" * 50, "", "ne peut pas être ouvert"),
    (
        "bom_utf8_mais_cp1252.csv",
        b"\xef\xbb\xbf" + (H_PORTEURS + "\nP1;;;Caf\xe9 des familles;autre\n").encode("latin-1"),
        "",
        "annonce l'encodage UTF-8",
    ),
    (
        "separateurs_melanges.csv",
        H_PORTEURS + "\nP1;;;Asso A;autre\nP2;,,,Asso B,autre;x;y;z;w\n",
        "porteurs",
        "plus de cellules que l'en-tête",
    ),
    (
        "derniere_ligne_tronquee.csv",
        H_ACTIONS + "\n" + ACTION_OK + "\nA-T-2;CV-DEMO-VERM;3700219",
        "actions",
        "Valeur obligatoire manquante",
    ),
    (
        "colonne_obligatoire_absente.csv",
        "code_contrat;libelle;type_signataire;insee_dep;date_debut\nCV-X;Contrat X;EPCI;75;01/01/2024\n",
        "contrats",
        "Colonne obligatoire absente",
    ),
    ("entetes_inconnus.csv", "foo;bar;baz\n1;2;3\n", "", "Type de fichier non reconnu"),
    (
        "fichier_insee_sans_indicateur.csv",
        "CODGEO;P21_POP;TX_PAUV\nQN00281M;1200;45,2\n",
        "",
        "Aucune variable du fichier n'est associée",
    ),
    (
        "cle_en_double.csv",
        H_CONTRATS + "\nCV-X;A;EPCI;;75;01/01/2024;31/12/2030\nCV-X;B;EPCI;;75;01/01/2024;31/12/2030\n",
        "",
        "Clé en double",
    ),
    ("qpv_inconnu.csv", H_ACTIONS + "\n" + ACTION_OK.replace("QN00281M", "QN99901M") + "\n", "", "Quartier inconnu"),
    ("code_qpv_2015.csv", H_QUARTIERS + "\nQP075001;Goutte d'Or;CV-DEMO-VERM;75;75118;Paris\n", "", "Code QPV 2015"),
    (
        "code_qpv_mal_forme.csv",
        H_QUARTIERS + "\nQN7511M;Goutte d'Or;CV-DEMO-VERM;75;75118;Paris\n",
        "",
        "Code QPV mal formé",
    ),
    ("contrat_inconnu.csv", H_QUARTIERS + "\nQN07511M;Goutte d'Or;CV-NOPE;75;75118;Paris\n", "", "Contrat inconnu"),
    (
        "commune_corse_20.csv",
        H_QUARTIERS + "\nQN02A01M;Pifano;CV-DEMO-VERM;2A;20247;Porto-Vecchio\n",
        "",
        "Code commune corse",
    ),
    (
        "departement_inconnu.csv",
        H_QUARTIERS + "\nQN07511M;Goutte d'Or;CV-DEMO-VERM;99;75118;Paris\n",
        "",
        "Code département inconnu",
    ),
    ("siret_cle_fausse.csv", H_PORTEURS + "\n;78467169500088;;Asso A;autre\n", "", "SIRET invalide"),
    ("siret_notation_scientifique.csv", H_PORTEURS + "\n;7,84672E+13;;Asso A;autre\n", "", "notation scientifique"),
    ("rna_mal_forme.csv", H_PORTEURS + "\nP1;;X123;Asso A;autre\n", "", "Numéro RNA mal formé"),
    ("siren_cle_fausse.csv", H_CONTRATS + "\nCV-X;A;EPCI;123456789;75;01/01/2024;31/12/2030\n", "", "SIREN invalide"),
    ("montant_negatif.csv", H_FIN + "\nA-CV-DEMO-BRE-2024-000001;CAF;2024;100;-50;0\n", "", "Montant négatif"),
    (
        "montant_non_numerique.csv",
        H_FIN + "\nA-CV-DEMO-BRE-2024-000001;CAF;2024;100;beaucoup;0\n",
        "",
        "Valeur non numérique",
    ),
    ("date_illisible.csv", H_REUNIONS + "\nR-X;COPIL-X;32/13/2024;tenue;10;2\n", "reunions", "Date illisible"),
    (
        "annees_hors_contrat.csv",
        H_ACTIONS + "\n" + ACTION_OK.replace("2025;2025", "2031;2032") + "\n",
        "",
        "Année hors de la période du contrat",
    ),
    (
        "annee_fin_avant_debut.csv",
        H_ACTIONS + "\n" + ACTION_OK.replace("2025;2025", "2026;2025") + "\n",
        "",
        "Dernière année antérieure",
    ),
    (
        "formule_tableur.csv",
        H_PORTEURS + '\nP1;;;"=HYPERLINK(""http://x"";""clic"")";autre\n',
        "",
        "formule de tableur",
    ),
    ("html_script.csv", H_PORTEURS + "\nP1;;;<script>alert(1)</script>;autre\n", "", "code HTML"),
    (
        "valeur_non_reconnue.csv",
        H_ACTIONS + "\n" + ACTION_OK.replace("accordée", "validée") + "\n",
        "",
        "Valeur non reconnue",
    ),
    (
        "porteur_inconnu.csv",
        H_ACTIONS + "\n" + ACTION_OK.replace("37002196811833", "P-INCONNU") + "\n",
        "",
        "Porteur inconnu",
    ),
    ("texte_trop_long.csv", H_PORTEURS + "\nP1;;;" + "A" * 2100 + ";autre\n", "", "Texte trop long"),
    (
        "habitants_superieurs.csv",
        H_REUNIONS + "\nR-X;COPIL-X;12/11/2024;tenue;10;12\n",
        "reunions",
        "Plus d'habitants que de participants",
    ),
    ("fin_avant_debut.csv", H_CONTRATS + "\nCV-X;A;EPCI;;75;01/01/2030;31/12/2024\n", "", "Date de fin antérieure"),
    (
        "programmation_sans_montant.csv",
        "N° dossier;Exercice;Code contrat ville;Libellé de l'action;Raison sociale;Thème\n"
        "D1;2025;CV-DEMO-VERM;Atelier;Asso;1.1\n",
        "programmation",
        "Colonne obligatoire absente",
    ),
    ("trop_gros.csv", H_PORTEURS + "\n" + "P1;;;Asso;autre\n" * 200, "", "taille maximale autorisée"),
]


def main() -> None:
    rows = []
    for name, content, kind, message in CASES:
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        (HERE / name).write_bytes(data)
        rows.append({"fichier": name, "type": kind, "message": message})
    with open(HERE / "expected.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["fichier", "type", "message"], delimiter=";")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
