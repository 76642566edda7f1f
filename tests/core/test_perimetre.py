"""Read scope (« périmètre »): a reader restricted to some contracts never gets a row of another.

Every read function with a `perimetre` parameter is found by introspection (a new one is covered
without editing this file) and called on the demo store (three contracts) for a reader of contract
A: with « Tous les contrats » (contrat=None) its result mentions no code or label of B and C and
equals the result for contract A; with identifiers of B (a QPV, an action, an actor…) it shows
nothing of B; with an empty périmètre it shows no contract at all.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import pkgutil

import polars as pl
import pytest

from cdv_core import queries, seance
from cdv_core.domain import progress
from cdv_core.settings import Settings
from tests.conftest import DEMO_AU

QUERY_MODULES = tuple(
    importlib.import_module(f"cdv_core.queries.{m.name}") for m in pkgutil.iter_modules(queries.__path__)
)
OTHER_MODULES = (progress, seance)  # the SQL helpers of the rule and the séance's reads

# Where « Tous les contrats » legitimately answers in another shape than one contract (same facts).
SHAPE_BY_CONTRAT = {
    "cdv_core.queries.jalons.rapports_annuels": "one contract: per year; several: contracts counted per status",
    "cdv_core.queries.financements.filter_options": "objectives are offered for one contract only",
}


def _functions(modules) -> list:
    found = []
    for module in modules:
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                found.append(fn)
    return found


SCOPED = [fn for fn in _functions(QUERY_MODULES + OTHER_MODULES) if "perimetre" in inspect.signature(fn).parameters]


def _id(fn) -> str:
    return f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"


def _key(fn) -> str:
    return f"{fn.__module__}.{fn.__name__}"


# --- the demo store seen from contract A -----------------------------------------------------


def _one(cur, sql: str, params: dict):
    rows = cur.execute(sql, params).fetchall()
    return rows[0][0] if rows else None


@pytest.fixture(scope="module")
def world(demo_store_master):
    import duckdb

    con = duckdb.connect(str(demo_store_master), read_only=True)
    cur = con.cursor()
    codes = [r[0] for r in cur.execute("SELECT code_contrat FROM contrat ORDER BY code_contrat").fetchall()]
    # A: the contract with a frozen baseline when the demo has one (so baseline_diff is exercised)
    a = _one(cur, "SELECT min(code_contrat) FROM reference_gel", {}) or codes[0]
    others = [c for c in codes if c != a]

    def tokens(contracts: list[str]) -> set[str]:
        p = {"c": contracts}
        found = set(contracts)
        for sql in (
            "SELECT libelle FROM contrat WHERE list_contains($c, code_contrat)",
            "SELECT code_qp FROM quartier WHERE list_contains($c, code_contrat)",
            "SELECT libelle FROM quartier WHERE list_contains($c, code_contrat)",
            "SELECT code_action FROM action WHERE list_contains($c, code_contrat)",
            "SELECT code_instance FROM instance WHERE list_contains($c, code_contrat)",
        ):
            found |= {r[0] for r in cur.execute(sql, p).fetchall() if r[0]}
        return found

    own, theirs = tokens([a]), tokens(others)
    # a label of one side that also appears in the other side's labels is no evidence of a leak
    foreign = {t for t in theirs if not any(t in o for o in own)}
    own_only = {t for t in own if not any(t in o for o in theirs)}
    p = {"c": a}
    ids = {  # identifiers of A
        "code_qp": _one(
            cur,
            """SELECT min(q.code_qp) FROM quartier q JOIN objectif o USING (code_qp)
                                WHERE q.code_contrat = $c""",
            p,
        ),
        "code_action": _one(cur, "SELECT min(code_action) FROM action WHERE code_contrat = $c", p),
        "code_instance": _one(cur, "SELECT min(code_instance) FROM instance WHERE code_contrat = $c", p),
        "id_gel": _one(cur, "SELECT min(id_gel) FROM reference_gel WHERE code_contrat = $c", p),
        # an actor of this contract only (its actions and every recorded link)
        "id_acteur": _one(
            cur,
            """SELECT min(id_acteur) FROM (
                                    SELECT id_porteur AS id_acteur, code_contrat FROM action
                                    UNION ALL SELECT id_acteur, code_contrat FROM acteur
                                    UNION ALL SELECT x.id_acteur, q.code_contrat
                                              FROM acteur_quartier x JOIN quartier q USING (code_qp)
                                    UNION ALL SELECT x.id_acteur, i.code_contrat
                                              FROM acteur_instance x JOIN instance i USING (code_instance))
                                  GROUP BY id_acteur HAVING bool_and(code_contrat IS NOT DISTINCT FROM $c)""",
            p,
        ),
    }
    indicator = _one(
        cur,
        """SELECT min(v.code_indicateur) FROM valeur_indicateur v
                             JOIN quartier q ON q.code_qp = v.code_territoire
                             WHERE v.type_territoire = 'QPV' AND q.code_contrat = $c""",
        {"c": a},
    )
    yield {
        "cur": cur,
        "a": a,
        "b": others[0],
        "own": own_only,
        "foreign": foreign,
        "all": own | theirs,
        "ids": ids,
        "indicator": indicator,
    }
    con.close()


def _arguments(fn, world) -> dict:
    """Values for the required parameters (and the identifiers, of contract A) of `fn`, by name."""
    ids = world["ids"]
    table = {
        "donnees_au": DEMO_AU,
        "annee": DEMO_AU.year,
        "months": 6,
        "unpaid_months": 6,
        "tolerance_days": 30,
        "max_age_months": 36,
        "reference": "commune",
        "code_indicateur": world["indicator"],
        "keys": seance.DEFAULT_AGENDA,
        "settings": Settings(),
        "code_qp": ids["code_qp"],
        "focus": ids["code_qp"],
        "qpv": (ids["code_qp"],),
        "code_action": ids["code_action"],
        "code_instance": ids["code_instance"],
        "id_gel": ids["id_gel"],
        "id_acteur": ids["id_acteur"],
    }
    args = {}
    for name, param in inspect.signature(fn).parameters.items():
        if name in ("cur", "contrat", "perimetre") or param.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        if param.default is inspect.Parameter.empty or (name in table and name.startswith(("code_", "id_"))):
            if name not in table:
                pytest.fail(f"{_id(fn)} : pas de valeur de test pour le paramètre « {name} »")
            if table[name] is None:
                pytest.skip(f"la démo n'a pas de valeur pour « {name} »")
            args[name] = table[name]
    return args


def _call(fn, world, **kwargs):
    try:
        return fn(world["cur"], **kwargs)
    except ValueError as exc:  # « introuvable »: an identifier outside the périmètre reads as unknown
        return ("introuvable", str(exc))


def _plain(value):
    """A comparable, printable form of a result (frames as rows, floats rounded, NaN named)."""
    if isinstance(value, pl.DataFrame):
        return {"colonnes": value.columns, "lignes": [_plain(r) for r in value.rows()]}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else round(value, 6)
    return value


def _strings(value) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(k) | _strings(v) for k, v in value.items())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def _mentions(result, tokens: set[str]) -> set[str]:
    texts = _strings(_plain(result))
    return {t for t in tokens if any(t in s for s in texts)}


def _takes_contrat(fn) -> bool:
    return "contrat" in inspect.signature(fn).parameters


# --- the tests -------------------------------------------------------------------------------


def test_functions_are_found():
    names = {_id(fn) for fn in SCOPED}
    assert {
        "overview.headline",
        "financements.funding_totals",
        "acteurs.directory",
        "seance.agenda",
        "progress.objective_progress",
        "territoire.contracts",
    } <= names


@pytest.mark.parametrize("fn", SCOPED, ids=_id)
def test_all_my_contracts_is_my_contract(fn, world):
    """contrat=None with perimetre=(A,): nothing of B or C, and the figures of contract A."""
    a = world["a"]
    args = _arguments(fn, world)
    if _takes_contrat(fn):
        scoped = _call(fn, world, contrat=None, perimetre=(a,), **args)
        reference = _call(fn, world, contrat=a, **args)
    else:  # identifiers of A: the périmètre changes nothing, or keeps A's rows only
        scoped = _call(fn, world, perimetre=(a,), **args)
        reference = _call(fn, world, perimetre=None, **args)
    assert not _mentions(scoped, world["foreign"]), f"{_id(fn)} montre d'autres contrats"
    identified = any(n.startswith(("code_", "id_", "focus", "qpv")) for n in args)
    if not _takes_contrat(fn) and isinstance(scoped, (pl.DataFrame, list)) and not identified:
        # a list over the whole store: the restricted reader gets a part of it
        def rows(r):
            return set(r.rows()) if isinstance(r, pl.DataFrame) else set(r)

        assert rows(scoped) <= rows(reference)
    elif _key(fn) not in SHAPE_BY_CONTRAT:
        assert _plain(scoped) == _plain(reference)


IDENTIFIED = [
    fn
    for fn in SCOPED
    if not _takes_contrat(fn)
    and {"code_qp", "focus", "qpv", "code_action", "id_acteur", "id_gel", "code_instance"}
    & set(inspect.signature(fn).parameters)
]


@pytest.mark.parametrize("fn", IDENTIFIED, ids=_id)
def test_identifier_of_another_contract_shows_nothing(fn, world):
    """A reader of B asking for a QPV, an action, an actor, a baseline… of A gets nothing of A."""
    args = _arguments(fn, world)
    result = _call(fn, world, perimetre=(world["b"],), **args)
    leaked = _mentions(
        result, world["own"] | {v for v in args.values() if isinstance(v, str) and v != world["indicator"]}
    )
    assert not leaked, f"{_id(fn)} montre {sorted(leaked)[:5]}"


@pytest.mark.parametrize("fn", SCOPED, ids=_id)
def test_empty_perimetre_shows_no_contract(fn, world):
    """A user with no contract (perimetre=()) sees no contract's row: the answer for a contract
    that does not exist (`contrat` selects, the périmètre also hides what `contrat` leaves visible)."""
    args = _arguments(fn, world)
    if _takes_contrat(fn):
        result = _call(fn, world, contrat=None, perimetre=(), **args)
        nobody = _call(fn, world, contrat="CV-INEXISTANT", **args)
        # (an actor's identity is shown for any `contrat`, but hidden outside the périmètre)
        if _key(fn) not in SHAPE_BY_CONTRAT and not _mentions(nobody, world["all"]):
            assert _plain(result) == _plain(nobody)
    else:
        result = _call(fn, world, perimetre=(), **args)
    assert not _mentions(result, world["all"]), f"{_id(fn)} montre un contrat à qui n'en a aucun"


def _reads_contracts(fn) -> bool:
    source = inspect.getsource(fn)
    return "$contrat" in source or "contrat=contrat" in source


@pytest.mark.parametrize(
    "fn",
    [fn for fn in _functions(QUERY_MODULES + OTHER_MODULES) if _reads_contracts(fn) or _takes_contrat(fn)],
    ids=_id,
)
def test_every_contract_selection_takes_a_perimetre(fn):
    """A function selecting by contract takes `perimetre` too, unless its contract is mandatory
    (one contract, checked against the périmètre by the UI before the call)."""
    params = inspect.signature(fn).parameters
    if "contrat" in params and params["contrat"].annotation == "str":
        return
    assert "perimetre" in params, f"{_id(fn)} filtre par contrat sans paramètre perimetre"
    assert params["perimetre"].default is None and params["perimetre"].kind is inspect.Parameter.KEYWORD_ONLY


def test_the_import_log_shows_a_reader_the_imports_of_its_contracts_only(demo_store):
    """`import_log.contrats` (migration 0007): the journal, the rollback choices and the
    provenance of the overview list an import to a reader only when every contract it touched
    is the reader's; national and common-data imports to unrestricted readers only."""
    from cdv_core import ingest, store
    from cdv_core.access import local_user
    from cdv_core.queries import overview

    con = store.connect(demo_store)
    admin = local_user("test")

    def jalon(code: str, contrat: str) -> int:
        data = (
            "id_jalon;code_contrat;type_jalon;libelle;date_prevue\n"
            f"{code};{contrat};autre;Réunion publique;01/03/2026\n"
        )
        return ingest.commit(con, ingest.analyse(con.cursor(), data.encode(), f"{code}.csv"), user=admin)

    mine, theirs = jalon("J-PER-1", "CV-DEMO-VERM"), jalon("J-PER-2", "CV-DEMO-BRE")
    porteurs = "id_porteur;nom;type_structure\nP-PER-1;Association du test;association sans salarié\n"
    common = ingest.commit(con, ingest.analyse(con.cursor(), porteurs.encode(), "porteurs.csv"), user=admin)
    cur = con.cursor()
    assert store.scalar(cur, "SELECT contrats FROM import_log WHERE id_import = $i", {"i": mine}) == "CV-DEMO-VERM"
    assert ingest.import_history(cur, perimetre=("CV-DEMO-VERM",))["n°"].to_list() == [mine]
    assert list(ingest.rollback_choices(cur, perimetre=("CV-DEMO-VERM",))) == [mine]
    assert overview.provenance(cur, perimetre=("CV-DEMO-VERM",))["imports"]["fichier"].to_list() == ["J-PER-1.csv"]
    assert ingest.import_history(cur, perimetre=("CV-DEMO-VERM", "CV-DEMO-BRE"))["n°"].to_list() == [theirs, mine]
    assert ingest.import_history(cur)["n°"].to_list() == [common, theirs, mine]
    assert ingest.import_history(cur, perimetre=())["n°"].to_list() == []
    con.close()
