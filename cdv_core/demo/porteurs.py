"""Step 3: the porteurs of each contract (structures that carry actions).

A contract's porteurs are drawn kind by kind (`_KINDS`: centre social, régie de quartier,
association de médiation, amicale de locataires, commune, CCAS, bailleur, collège…), each kind with
an expected count that grows with the number of QPV and communes, and name templates
(vocabulaire.md §3) filled with fictional name parts and the contract's own quartier and commune
names. Names are drawn without replacement from each contract's pool of possible names, so no
two porteurs of a contract share a name (a kind whose pool is exhausted simply has fewer
porteurs: one régie per quartier, one CCAS per commune). SIREN and SIRET pass the Luhn check and
are unique; only associations have an RNA number.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cdv_core.demo.common import Scale, digits_of, text_of, with_check_digit

# The stored type of each porteur kind (model.TYPES_STRUCTURE); kinds are this generator's own,
# richer typology (vocabulaire.md §2: AB, AS, CS, RQ, COL, BS, EPLE, INS, CLUB, CIE, SAN).
KIND_TYPE = {
    "AB": "association sans salarié",
    "CLUBB": "association sans salarié",
    "AS": "association avec salariés",
    "CS": "association avec salariés",
    "RQ": "association avec salariés",
    "MED": "association avec salariés",
    "INS": "association avec salariés",
    "CIE": "association avec salariés",
    "CLUB": "association avec salariés",
    "SAN": "association avec salariés",
    "FEM": "association avec salariés",
    "EPI": "association avec salariés",
    "EPCI": "collectivité",
    "VILLE": "collectivité",
    "CCAS": "collectivité",
    "CDE": "collectivité",
    "EPLE": "établissement public",
    "ML": "établissement public",
    "BS": "bailleur",
    "ENT": "entreprise",
    "AUT": "autre",
}
# Kinds whose porteurs belong to one quartier (named after it, or drawn in one of the contract).
_LOCAL_KINDS = ("AB", "CLUBB", "CS", "RQ", "EPLE")

# --- fictional name parts ------------------------------------------------------------------
_PERSONNALITES = [
    "Hélène-Barradat",
    "Aimé-Rocheval",
    "Louise-Vernadet",
    "Marcel-Haudricourt",
    "Suzanne-Lemarquis",
    "Joseph-Albarède",
    "Yvonne-Castaing",
    "Robert-Fontanier",
    "Simone-Aubriac",
    "Émile-Carrandier",
    "Marthe-Vaudrey",
    "Georges-Pellisson",
    "Lucienne-Darbois",
    "Henri-Mauvezin",
    "Paulette-Sorbier",
    "André-Lestrade",
    "Madeleine-Ferrandon",
    "Rosa-Valadier",
    "Julien-Marsaud",
    "Odette-Lancelin",
    "Fernand-Costebelle",
    "Germaine-Tillac",
    "Ahmed-Kerbouche",
    "Thérèse-Moulinot",
    "Paul-Escandre",
    "Ginette-Brossolin",
    "Mohand-Aït-Larbi",
    "Colette-Vialard",
    "Aïssata-Konandé",
    "Raymond-Ballestrac",
]
_POETIQUES = [
    "Les Semeurs d'Étoiles",
    "La Lune Vagabonde",
    "Le Vent du Large",
    "Les Mille Voix",
    "L'Arbre à Palabres",
    "Les Pieds dans l'Herbe",
    "Les Cerfs-Volants",
    "La Marelle",
    "L'Escale",
    "Le Chant des Rives",
    "Les Lucioles",
    "La Fabrique à Rêves",
    "Le Petit Phare",
    "Les Tisserands",
    "La Courte Échelle",
    "Les Mots Passants",
    "Le Jardin d'Hiver",
    "Les Voix Croisées",
    "L'Envol",
    "Le Grain de Sable",
    "La Clé des Champs",
    "Les Funambules",
    "Le Fil Rouge",
    "La Caravelle",
    "La Rose des Vents",
    "Les Oiseaux de Passage",
    "La Roulotte Bleue",
    "Les Échappées Belles",
]
_NOMS = [  # invented association names
    "Trait d'Union",
    "Passerelle",
    "Horizon",
    "Tremplin",
    "Rebond",
    "Élan",
    "Cap Avenir",
    "Boussole",
    "Sésame",
    "Relais",
    "Levain",
    "Archipel",
    "Ricochet",
    "Alizé",
    "Mosaïque",
    "Kaléidoscope",
    "Sillon",
    "Entre-Deux",
    "Pas à Pas",
    "Vis-à-Vis",
    "Escabeau",
    "Carrefour",
    "Clairière",
    "Bourgeon",
    "Amarre",
    "Rivage",
]
_RESIDENCES = [
    "des Tilleuls",
    "des Acacias",
    "du Clos Fleuri",
    "des Peupliers",
    "des Glycines",
    "du Parc aux Cerfs",
    "des Hirondelles",
    "des Mésanges",
    "de la Pépinière",
    "des Marronniers",
    "du Belvédère",
    "des Érables",
    "des Capucines",
    "des Lilas",
    "de la Sapinière",
    "du Colombier",
    "des Bleuets",
    "des Cèdres",
    "des Charmilles",
    "du Verger",
    "des Sorbiers",
    "de la Roselière",
    "du Haut-Pré",
    "des Coteaux",
    "des Noisetiers",
    "du Moulin à Vent",
    "des Jonquilles",
    "des Myosotis",
    "des Saules",
    "des Aubépines",
]
_RUES = [
    "de la rue des Tanneurs",
    "de l'allée des Musiciens",
    "du square des Aulnes",
    "de l'avenue du Levant",
    "de la rue des Rosiers",
    "de la place du Marché",
    "du chemin des Vignes",
    "de la rue Haute",
    "du boulevard de l'Est",
    "de la cour des Tisserands",
    "de l'impasse des Lavandières",
    "de la rue du Four",
    "du passage des Écoliers",
    "de la rue des Potiers",
    "de l'allée des Cigognes",
    "de la rue des Vanniers",
]
_BAILLEURS = [
    "Les Toits de la Plaine",
    "Logis des Trois Vallées",
    "Habitat des Coteaux",
    "Le Foyer du Val",
    "Résidences de l'Estuaire",
    "Logement Familial du Plateau",
]
_SLOTS = {"p": _PERSONNALITES, "poet": _POETIQUES, "n": _NOMS, "r": _RESIDENCES, "u": _RUES, "b": _BAILLEURS}

# kind: (expected count = a + b × QPV + k × communes, minimum, templates). A template holds one
# slot: {q}/{dq}/{qs} a quartier (name, « de » + name, short name), {c}/{dc} a commune, {e} the
# EPCI, {v} a value of _SLOTS (the template's second element names the list).
_KINDS: dict[str, tuple[float, float, float, int, list[tuple[str, str | None]]]] = {
    "VILLE": (0, 0, 9, 1, [("Ville {dc}", None)]),
    "CCAS": (0, 0, 0.7, 0, [("CCAS {dc}", None)]),
    "CDE": (0, 0, 0.4, 0, [("Caisse des écoles {dc}", None)]),
    "EPLE": (0.5, 0.4, 0, 1, [("Collège {v}", "p"), ("Lycée professionnel {v}", "p")]),
    "ML": (1.0, 0.05, 0, 1, [("Mission locale du bassin {dc}", None), ("PLIE de la {e}", None)]),
    "BS": (1.0, 0.2, 0, 1, [("{c} Habitat", None), ("Office public de l'habitat {dc}", None), ("{v}", "b")]),
    "ENT": (0.1, 0.05, 0, 0, [("SCOP Ateliers {dc}", None), ("Entreprise d'insertion {v} Services", "n")]),
    "AUT": (0.1, 0.0, 0, 0, [("Fondation {v}", "p")]),
    "CS": (
        0.3,
        0.5,
        0,
        1,
        [
            ("Centre social {dq}", None),
            ("Centre socio-culturel {v}", "p"),
            ("Espace social et culturel {dq}", None),
            ("Maison de quartier {dq}", None),
            ("MJC {dq}", None),
            ("Espace de vie sociale {v}", "n"),
        ],
    ),
    "RQ": (0.2, 0.25, 0, 0, [("Régie de quartier {dq}", None)]),
    "MED": (
        0.6,
        0.15,
        0,
        1,
        [
            ("{v} Médiation", "n"),
            ("Association de médiation sociale {dc}", None),
            ("{v} Prévention", "n"),
            ("Club de prévention {dc}", None),
        ],
    ),
    "INS": (0.5, 0.3, 0, 1, [("{v} Emploi", "n"), ("{v} Insertion", "n"), ("Atelier chantier d'insertion {v}", "n")]),
    "CIE": (0.3, 0.2, 0, 0, [("Compagnie {v}", "poet"), ("Collectif {v}", "poet"), ("Web radio {v}", "poet")]),
    "SAN": (0.2, 0.1, 0, 0, [("Centre de santé {v}", "p"), ("Réseau santé {v}", "n")]),
    "CLUB": (
        0.3,
        0.15,
        0,
        0,
        [
            ("Boxing club {dc}", None),
            ("Club de natation {dc}", None),
            ("Basket club {dc}", None),
            ("Cercle d'escrime {dc}", None),
        ],
    ),
    "AS": (
        1.0,
        0.9,
        0,
        2,
        [
            ("{v} Solidarité", "n"),
            ("{v} Familles", "n"),
            ("Les Ateliers {v}", "n"),
            ("Association {v}", "n"),
            ("Espace ressources {v}", "n"),
        ],
    ),
    "FEM": (0.2, 0.15, 0, 0, [("Association des femmes {dq}", None), ("Femmes relais {dc}", None)]),
    "EPI": (0.2, 0.1, 0, 0, [("Épicerie solidaire {v}", "n")]),
    "AB": (
        0.5,
        1.1,
        0,
        1,
        [
            ("Amicale des locataires {v}", "r"),
            ("Collectif d'habitants {v}", "u"),
            ("Association des mamans {dq}", None),
            ("Les Jardins {dq}", None),
            ("Écrivains publics {dc}", None),
            ("Les Amis {dq}", None),
        ],
    ),
    "CLUBB": (0.3, 0.5, 0, 0, [("AS {qs}", None), ("FC {qs}", None), ("US {qs}", None), ("Judo club {dq}", None)]),
}


def de(name: pl.Expr) -> pl.Expr:
    """« de » + a place name, with French contractions (des Hauts, du Moulin, d'Europe, de la Forêt)."""
    return (
        (pl.lit("de ") + name)
        .str.replace(r"^de Les ", "des ")
        .str.replace(r"^de Le ", "du ")
        .str.replace(r"^de La ", "de la ")
        .str.replace(r"^de L'", "de l'")
        .str.replace(r"^de ([AEIOUYÉÈÊÂÎ])", "d'$1")
    )


def _short(name: pl.Expr) -> pl.Expr:
    """A quartier's short name: its first part, without article (« Les Hauts de X - Y » → « Hauts de X »)."""
    return name.str.split(" - ").list.first().str.replace(r"^(Les |Le |La |L')", "")


def _epci_name(contrats: pl.DataFrame, main_commune: pl.DataFrame) -> pl.DataFrame:
    """The EPCI of each contract signed by an EPCI: its name read from the contract's label, else
    « Communauté d'agglomération » of the main commune."""
    from_label = pl.col("libelle").str.extract(
        r"^Contrat de ville (?:de la |du |de l'|des |de )?"
        r"((?:CA|CC|CU|Communauté|Métropole|Grand|Agglo)[^()]*?)\s*(?:\(.*\))?$"
    )
    return (
        contrats.filter(pl.col("type_signataire") == "EPCI")
        .join(main_commune, on="code_contrat")
        .select(
            "code_contrat", pl.coalesce(from_label, pl.lit("Communauté d'agglomération ") + de(pl.col("c"))).alias("e")
        )
    )


def _siren_digits(seq: np.ndarray, prefix: np.ndarray) -> np.ndarray:
    """Unique, Luhn-valid SIREN digits: a 2-digit prefix, 6 digits that are a bijection of `seq`, a check digit."""
    body6 = (seq.astype(np.int64) * 7919 + 104_729) % 1_000_000
    digits = np.concatenate(
        [np.stack([prefix // 10, prefix % 10], axis=1), (body6[:, None] // 10 ** np.arange(5, -1, -1)) % 10], axis=1
    )
    return with_check_digit(digits)


def _siret_digits(siren: np.ndarray, nic: np.ndarray) -> np.ndarray:
    """SIREN + a NIC « 000x » + the check digit that makes the 14 digits pass the Luhn check."""
    body = np.concatenate([siren, np.zeros((len(siren), 3), np.int64), nic[:, None]], axis=1)
    return with_check_digit(body)


# SIREN prefixes per kind (associations 4-8, communes 21, CCAS and caisses des écoles 26, …).
_PREFIX = {
    "VILLE": [21],
    "CCAS": [26],
    "CDE": [26],
    "EPCI": [20],
    "EPLE": [19],
    "ML": [18, 41],
    "BS": [27, 57],
    "ENT": [52, 53, 80],
    "AUT": [18, 42],
}
_ASSOC_PREFIX = [77, 78, 79, 81, 82, 83, 84, 85, 88, 49, 50, 51]


def _pool(contrats: pl.DataFrame, quartiers: pl.DataFrame, communes: pl.DataFrame, epci: pl.DataFrame) -> pl.DataFrame:
    """Every name each contract's porteurs could take: one row per (contract, kind, name)."""
    tpl = pl.DataFrame(
        [(k, t, s) for k, spec in _KINDS.items() for t, s in spec[4]] + [("EPCI", "{e}", None)],
        schema=["kind", "tpl", "slot"],
        orient="row",
    )
    # Names from lists do not depend on the contract: built once, then given to every contract.
    static = (
        tpl.filter(pl.col("slot").is_not_null())
        .join(
            pl.DataFrame([(s, v) for s, vs in _SLOTS.items() for v in vs], schema=["slot", "v"], orient="row"),
            on="slot",
        )
        .select("kind", "tpl", pl.col("tpl").str.replace("{v}", pl.col("v"), literal=True).alias("nom"))
    )
    place = tpl.filter(pl.col("slot").is_null())
    q = quartiers.select("code_contrat", "code_qp", pl.col("libelle").alias("q")).with_columns(
        de(pl.col("q").str.split(" - ").list.first()).alias("dq"), _short(pl.col("q")).alias("qs")
    )
    c = communes.select("code_contrat", pl.col("lib_com").alias("c")).with_columns(de(pl.col("c")).alias("dc"))
    by_q = (
        place.filter(pl.col("tpl").str.contains("q}", literal=True))
        .join(q, how="cross")
        .select(
            "code_contrat",
            "kind",
            "tpl",
            pl.col("tpl")
            .str.replace("{dq}", pl.col("dq"), literal=True)
            .str.replace("{qs}", pl.col("qs"), literal=True)
            .str.replace("{q}", pl.col("q"), literal=True)
            .alias("nom"),
            "code_qp",
        )
    )
    by_c = (
        place.filter(pl.col("tpl").str.contains("c}", literal=True))
        .join(c, how="cross")
        .select(
            "code_contrat",
            "kind",
            "tpl",
            pl.col("tpl")
            .str.replace("{dc}", pl.col("dc"), literal=True)
            .str.replace("{c}", pl.col("c"), literal=True)
            .alias("nom"),
        )
    )
    by_e = (
        place.filter(pl.col("tpl").str.contains("{e}", literal=True))
        .join(epci, how="cross")
        .select("code_contrat", "kind", "tpl", pl.col("tpl").str.replace("{e}", pl.col("e"), literal=True).alias("nom"))
    )
    pool = pl.concat([contrats.select("code_contrat").join(static, how="cross"), by_q, by_c, by_e], how="diagonal")
    return pool.select("code_contrat", "kind", "tpl", "nom", "code_qp").sort("code_contrat", "kind", "nom")


def _porteurs(rng, contrats: pl.DataFrame, quartiers: pl.DataFrame, scale: Scale) -> pl.DataFrame:
    quartiers = quartiers.sort("code_qp")
    communes = (
        quartiers.group_by("code_contrat", "lib_com")
        .agg(pl.col("population").sum().alias("pop"))
        .sort(["code_contrat", "pop", "lib_com"], descending=[False, True, False])
    )
    main = (
        communes.group_by("code_contrat", maintain_order=True)
        .first()
        .select("code_contrat", pl.col("lib_com").alias("c"))
    )
    epci = _epci_name(contrats, main)
    size = (
        contrats.select("code_contrat", "type_signataire", "siren_signataire", "insee_dep")
        .join(quartiers.group_by("code_contrat").agg(pl.len().alias("nq")), on="code_contrat")
        .join(communes.group_by("code_contrat").agg(pl.len().alias("ncom")), on="code_contrat")
        .sort("code_contrat")
    )

    # How many porteurs of each kind each contract has (at most as many as its pool of names).
    kinds = [*_KINDS, "EPCI"]
    grid = size.join(pl.DataFrame({"kind": kinds}), how="cross").sort("code_contrat", "kind")
    spec = pl.DataFrame(
        [(k, *(_KINDS[k][:4] if k in _KINDS else (99, 0, 0, 0))) for k in kinds],
        schema=["kind", "a", "b", "k", "min"],
        orient="row",
    )
    grid = grid.join(spec, on="kind").sort("code_contrat", "kind")
    lam = (grid["a"] + grid["b"] * grid["nq"] + grid["k"] * grid["ncom"]).to_numpy()
    wanted = np.where(lam >= 99, 99, np.maximum(grid["min"].to_numpy(), rng.poisson(np.minimum(lam, 98))))
    grid = grid.with_columns(pl.Series("wanted", wanted))

    pool = _pool(contrats, quartiers, communes, epci)
    # Exponential race weighted by 1 / (names of the template): each template of a kind is as
    # likely as another to name the next porteur, whatever the size of its list of name parts.
    pool = (
        pool.with_columns(
            (-pl.Series(np.log(1.0 - rng.random(pool.height))) * pl.len().over("code_contrat", "kind", "tpl")).alias(
                "key"
            )
        )
        .sort("key", "code_contrat", "nom")
        .unique(["code_contrat", "nom"], keep="first", maintain_order=True)
        .with_columns(pl.int_range(pl.len()).over("code_contrat", "kind").alias("rank"))
        .join(grid.select("code_contrat", "kind", "wanted"), on=["code_contrat", "kind"])
        .filter(pl.col("rank") < pl.col("wanted"))
        .sort("code_contrat", "kind", "rank")
        .with_row_index("seq")
    )
    n = pool.height

    # Local structures belong to one quartier: the one they are named after, else one of the contract.
    q_list = quartiers.group_by("code_contrat", maintain_order=True).agg(pl.col("code_qp").alias("qps"))
    pool = (
        pool.join(q_list, on="code_contrat")
        .sort("seq")
        .with_columns(pl.Series("u_q", rng.random(n)))
        .with_columns(
            pl.when(pl.col("kind").is_in(_LOCAL_KINDS))
            .then(
                pl.coalesce(
                    "code_qp", pl.col("qps").list.get((pl.col("u_q") * pl.col("qps").list.len()).floor().cast(pl.Int64))
                )
            )
            .alias("code_qp")
        )
        .drop("qps", "u_q")
        .join(size.select("code_contrat", "type_signataire", "siren_signataire", "insee_dep"), on="code_contrat")
        .join(main.rename({"c": "main"}), on="code_contrat")
        .sort("seq")
    )

    # Identifiers: SIREN by kind (the signatory collectivité keeps its own), SIRET Luhn-valid, RNA.
    kind = pool["kind"].to_numpy()
    prefix = np.array(_ASSOC_PREFIX)[rng.integers(0, len(_ASSOC_PREFIX), n)]
    for k, choices in _PREFIX.items():  # a loop over a handful of kinds
        sel = kind == k
        prefix[sel] = np.array(choices)[rng.integers(0, len(choices), sel.sum())]
    siren = _siren_digits(pool["seq"].to_numpy(), prefix)
    is_signatory = (pl.col("kind") == "EPCI") | (
        (pl.col("kind") == "VILLE")
        & (pl.col("type_signataire") == "commune")
        & (pl.col("nom") == pl.lit("Ville ") + de(pl.col("main")))
    )
    signatory = pool.select(is_signatory).to_series().to_numpy()
    own = pool["siren_signataire"].fill_null("000000000")
    own_ok = own.str.contains(r"^\d{9}$").to_numpy()
    signatory &= own_ok
    if signatory.any():
        siren[signatory] = digits_of(own.filter(pl.Series(signatory)), 9)
        # A drawn SIREN equal to a signatory's: give it another prefix.
        text = text_of(siren)
        clash = (text.is_in(text.filter(pl.Series(signatory)).implode()) & ~pl.Series(signatory)).to_numpy()
        siren[clash] = _siren_digits(pool["seq"].to_numpy()[clash], np.full(clash.sum(), 22))
    is_small = np.isin(kind, ["AB", "CLUBB"])
    is_assoc = np.isin(kind, [k for k, t in KIND_TYPE.items() if t.startswith("association")])
    has_siret = rng.random(n) < np.where(kind == "AB", 0.7, np.where(kind == "CLUBB", 0.85, 1.0))
    has_siret |= signatory
    nic = np.where(signatory, 1, rng.integers(1, 10, n))
    siret = text_of(_siret_digits(siren, nic))
    with_rna = is_assoc & (rng.random(n) < np.where(is_small, 1.0, 0.85))
    rna6 = pl.Series((pool["seq"].to_numpy().astype(np.int64) * 6007 + 31_337) % 1_000_000).cast(pl.String).str.zfill(6)
    frame = pool.with_columns(
        pl.col("kind").replace_strict(KIND_TYPE).alias("type_structure"),
        pl.when(pl.Series(has_siret)).then(siret).otherwise(None).alias("siret"),
        pl.when(pl.Series(with_rna))
        .then(
            pl.format(
                "W{}{}",
                pl.when(pl.col("insee_dep").str.len_chars() == 3)
                .then(pl.col("insee_dep"))
                .otherwise(pl.col("insee_dep").str.zfill(2) + pl.Series(rng.integers(1, 5, n)).cast(pl.String)),
                rna6,
            )
        )
        .otherwise(None)
        .alias("rna"),
    ).with_columns(pl.coalesce("siret", "rna", pl.format("LOC-{}", pl.col("seq"))).alias("id_porteur"))
    return frame.select(
        "id_porteur",
        "siret",
        "rna",
        "nom",
        "type_structure",
        pl.lit(None, dtype=pl.String).alias("insee_com"),
        "code_contrat",
        pl.col("kind").alias("genre"),
        "code_qp",
    )


# Contacts for the bilans' reminders (issue #19): fictional people, the first names and family
# names of `_PERSONNALITES` drawn apart (« Hélène » of one, « Vernadet » of another), fictional
# e-mail domains and telephone numbers from the ranges ARCEP keeps for fiction (01 99 00 …,
# 02 61 91 …, 03 53 01 …, 04 65 71 …, 05 36 49 …).
_PRENOMS = sorted({p.split("-", 1)[0] for p in _PERSONNALITES})
_NOMS_FAMILLE = sorted({p.split("-", 1)[1] for p in _PERSONNALITES})
_FICTION_PHONES = ("01 99 00", "02 61 91", "03 53 01", "04 65 71", "05 36 49")
_DOMAINS = {
    "association": "asso-exemple.fr",
    "collectivité": "mairie-exemple.fr",
    "établissement public": "etablissement-exemple.fr",
}
_P_CONTACT, _P_EMAIL, _P_PHONE = 0.85, 0.93, 0.8


def _contacts(rng: np.random.Generator, porteurs: pl.DataFrame) -> pl.DataFrame:
    """contact_nom, contact_email, contact_telephone for most porteurs (a few have none, or
    only some of the three)."""
    n = porteurs.height
    prenom = pl.Series(np.array(_PRENOMS, dtype=object)[rng.integers(0, len(_PRENOMS), n)], dtype=pl.String)
    nom = pl.Series(np.array(_NOMS_FAMILLE, dtype=object)[rng.integers(0, len(_NOMS_FAMILLE), n)], dtype=pl.String)
    has = rng.random(n) < _P_CONTACT
    email = has & (rng.random(n) < _P_EMAIL)
    phone = has & (rng.random(n) < _P_PHONE)
    pairs = rng.integers(0, 100, (n, 2))

    def slug(x: pl.Series) -> pl.Series:
        return x.str.normalize("NFD").str.replace_all(r"\p{Mn}", "").str.to_lowercase().str.replace_all(r"[^a-z]+", "-")

    domain = (
        pl.col("type_structure")
        .str.split(" ")
        .list.first()
        .replace_strict(_DOMAINS, default="structure-exemple.fr", return_dtype=pl.String)
    )
    return porteurs.with_columns(
        pl.when(pl.Series(has)).then(prenom + " " + nom).otherwise(None).alias("contact_nom"),
        pl.when(pl.Series(email))
        .then(pl.format("{}.{}@{}", slug(prenom), slug(nom), domain))
        .otherwise(None)
        .alias("contact_email"),
        pl.when(pl.Series(phone))
        .then(
            pl.format(
                "{} {} {}",
                pl.Series(
                    np.array(_FICTION_PHONES, dtype=object)[rng.integers(0, len(_FICTION_PHONES), n)], dtype=pl.String
                ),
                pl.Series(pairs[:, 0]).cast(pl.String).str.zfill(2),
                pl.Series(pairs[:, 1]).cast(pl.String).str.zfill(2),
            )
        )
        .otherwise(None)
        .alias("contact_telephone"),
    )


def generate(rng: np.random.Generator, frames: dict[str, pl.DataFrame], scale: Scale) -> dict[str, pl.DataFrame]:
    # The contract, kind (`genre`) and home quartier of each porteur are kept aside for the next
    # steps (not columns of the store).
    porteurs = _porteurs(rng, frames["contrat"], frames["quartier"], scale)
    porteurs = _contacts(rng, porteurs)  # drawn last: the porteurs themselves stay as they were
    return {"_porteur_contrat": porteurs, "porteur": porteurs.drop("code_contrat", "genre", "code_qp")}
