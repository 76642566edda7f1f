"""Importer of the national adulte-relais open-data list (one record per funded post).

Format (ANCT open data, e.g. `adulte-relais-2023.json`): a JSON array — or a CSV with the same
header — of records `id_poste, code_tiers (employer SIRET), raison_sociale, annee, montant,
code_cv, insee_dep, insee_reg`.

Rules (docs/acteurs.md):
- every record is a post funded by the State (programme 147) for `annee`: one `poste` of type
  adulte-relais and one `financement_poste` line `État P147 / annee / montant`;
- `code_cv` is a contract code of the 2015-2023 generation (`CV001`…), which does not match the
  2024 contracts: it is kept on the post (`code_cv_2015`), posts are counted per code, and a post
  counts in a 2024 contract only through `correspondance_contrat` (or when a user attaches it);
  `code_contrat` of an existing post is never overwritten by a re-import;
- the same `id_poste` appearing on several records with different employers is kept as several
  posts (`id_poste`, `id_poste-2`, …, ordered by SIRET) — the file funds each record — and reported;
  records identical in every field are counted once;
- re-importing the same file changes nothing; everything is written in one transaction.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from cdv_core import access, store
from cdv_core.domain import identifiers, texte
from cdv_core.ingest.commit import commit
from cdv_core.ingest.pipeline import Analysis, Load

COLUMNS = ("id_poste", "code_tiers", "raison_sociale", "annee", "montant", "code_cv", "insee_dep", "insee_reg")
REQUIRED = ("id_poste", "code_tiers", "raison_sociale", "annee", "montant")
TEXTS = ("id_poste", "code_tiers", "raison_sociale", "code_cv", "insee_dep")  # stored as text (not numbers)
TYPE_IMPORT = "adultes-relais"
CODE_CV_2015_PATTERN = r"^CV\d{3}$"


@dataclass
class Report:
    """The outcome of reading and validating a file: the clean posts, and French messages."""

    posts: pl.DataFrame
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    nb_lignes: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def read(data: bytes | str | Path, *, filename: str = "") -> pl.DataFrame:
    """Parse the file (JSON array of records, or CSV `;`/`,`) into string columns."""
    if isinstance(data, (str, Path)):
        filename = filename or str(data)
        data = Path(data).read_bytes()
    text = data.decode("utf-8-sig") if data[:3] == b"\xef\xbb\xbf" else _decode(data)
    if text.lstrip().startswith("["):
        records = json.loads(text)
        frame = pl.DataFrame(records, infer_schema_length=None) if records else pl.DataFrame()
    else:
        first = text.splitlines()[0] if text else ""
        sep = ";" if first.count(";") >= first.count(",") else ","
        frame = pl.read_csv(io.StringIO(text), separator=sep, infer_schema=False)
    return frame.select(pl.all().cast(pl.String))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def validate(frame: pl.DataFrame) -> Report:
    """Check every record (never stops at the first problem) and shape the posts to write."""
    report = Report(posts=pl.DataFrame(), nb_lignes=frame.height)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        report.errors.append("Colonnes obligatoires absentes : " + ", ".join(missing)
                             + f". Colonnes attendues : {', '.join(COLUMNS)}.")
        return report
    for c in COLUMNS:
        if c not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(c))
    frame = _clean_texts(frame.select(COLUMNS).with_row_index("ligne", offset=1), report)
    f = (frame
         .with_columns(pl.col(pl.String).str.strip_chars())
         .with_columns(
             pl.col("code_tiers").str.replace_all(r"\s", ""),
             pl.col("annee").cast(pl.Int32, strict=False).alias("annee_n"),
             pl.col("montant").str.replace(",", ".", literal=True).cast(pl.Float64, strict=False).alias("montant_n"),
             pl.when(pl.col("code_cv") == "").then(None).otherwise(pl.col("code_cv")).alias("code_cv"))
         # Excel strips leading zeros: re-pad SIRET (14) and département (2) when they are digits.
         .with_columns(
             pl.when(pl.col("code_tiers").str.contains(r"^\d{1,14}$")).then(pl.col("code_tiers").str.zfill(14))
               .otherwise(pl.col("code_tiers")).alias("code_tiers"),
             pl.when(pl.col("insee_dep").str.contains(r"^\d$")).then(pl.col("insee_dep").str.zfill(2))
               .otherwise(pl.col("insee_dep")).alias("insee_dep")))
    checks = [
        (pl.col("id_poste").is_null() | (pl.col("id_poste") == ""), "id_poste", "identifiant de poste vide"),
        (pl.col("raison_sociale").is_null() | (pl.col("raison_sociale") == ""), "raison_sociale", "employeur vide"),
        (pl.col("annee_n").is_null() | ~pl.col("annee_n").is_between(2014, 2035), "annee",
         "année attendue entre 2014 et 2035"),
        (pl.col("montant_n").is_null() | (pl.col("montant_n") < 0), "montant", "montant positif attendu (ex. 22555.73)"),
        (pl.col("code_tiers").is_null() | ~pl.col("code_tiers").str.contains(r"^\d{14}$"), "code_tiers",
         "SIRET de 14 chiffres attendu"),
    ]
    for condition, column, why in checks:
        bad = f.filter(condition).select("ligne", column).head(20)
        total = f.filter(condition).height
        report.errors += [f"ligne {r[0]}, colonne {column}, valeur « {r[1] if r[1] is not None else ''} » : {why}"
                          for r in bad.iter_rows()]
        if total > 20:
            report.errors.append(f"colonne {column} : {total - 20} autre(s) ligne(s) dans le même cas")
    if report.errors:
        return report
    bad_siret = f.filter(~identifiers.siret_valid_expr("code_tiers"))
    if bad_siret.height:
        report.warnings.append(
            f"{bad_siret.height} SIRET d'employeur à la clé de contrôle invalide (conservés, à vérifier) : "
            + ", ".join(f"ligne {r[0]} ({r[1]})" for r in bad_siret.select("ligne", "code_tiers").head(5).iter_rows()))
    no_code = f.filter(pl.col("code_cv").is_null()).height
    if no_code:
        report.warnings.append(f"{no_code} poste(s) sans code de contrat de ville : comptés « sans code ».")
    odd_code = f.filter(pl.col("code_cv").is_not_null() & ~pl.col("code_cv").str.contains(CODE_CV_2015_PATTERN))
    if odd_code.height:
        report.warnings.append(
            f"{odd_code.height} poste(s) avec un code de contrat hors du format CV000, par exemple "
            f"« {odd_code['code_cv'][0]} » (plusieurs contrats) : code conservé tel quel et compté à part.")
    before = f.height
    f = f.unique(subset=list(COLUMNS), keep="first", maintain_order=True)
    if f.height < before:
        report.warnings.append(f"{before - f.height} ligne(s) en double exact ignorée(s).")
    dup = f.filter(pl.col("id_poste").is_duplicated())
    if dup.height:
        report.warnings.append(
            f"{dup['id_poste'].n_unique()} identifiant(s) de poste présent(s) sur plusieurs lignes avec des employeurs "
            f"différents ({', '.join(dup['id_poste'].unique().sort().head(5).to_list())}) : chaque ligne est un poste "
            "financé, numérotée -2, -3…")
    f = (f.sort("id_poste", "code_tiers", "ligne")
          .with_columns(pl.int_range(pl.len()).over("id_poste").alias("rang"))
          .with_columns(pl.when(pl.col("rang") == 0).then(pl.col("id_poste"))
                          .otherwise(pl.format("{}-{}", "id_poste", pl.col("rang") + 1)).alias("id_poste"))
          .sort("ligne"))
    report.posts = f.select("id_poste", pl.col("code_tiers").alias("siret_employeur"),
                            pl.col("raison_sociale").alias("employeur"), pl.col("annee_n").alias("annee"),
                            pl.col("montant_n").alias("montant"), pl.col("code_cv").alias("code_cv_2015"),
                            "insee_dep")
    return report


def _clean_texts(frame: pl.DataFrame, report: Report) -> pl.DataFrame:
    """The rules of every path in (`domain.texte`): control characters are removed, with a warning
    per column; then a text a spreadsheet would run as a formula is an error (line, column, value)."""
    for column in TEXTS:
        dirty = frame.filter(texte.control_expr(pl.col(column)))
        if dirty.height:
            lines = ", ".join(str(n) for n in dirty["ligne"].head(5))
            report.warnings.append(f"colonne {column} : {texte.CONTROL_PROBLEM.lower()} sur "
                                   f"{dirty.height} ligne(s) (ligne {lines}{', …' if dirty.height > 5 else ''}).")
            frame = frame.with_columns(texte.strip_control_expr(pl.col(column)).alias(column))
        frame = frame.with_columns(pl.col(column).str.strip_chars())
        bad = frame.filter(texte.formula_expr(pl.col(column)))
        report.errors += [f"ligne {line}, colonne {column}, valeur « {texte.strip_control(value)[:40]} » : "
                          f"{texte.FORMULA_PROBLEM.lower()}. {texte.FORMULA_FIX}"
                          for line, value in bad.select("ligne", column).head(20).iter_rows()]
        if bad.height > 20:
            report.errors.append(f"colonne {column} : {bad.height - 20} autre(s) ligne(s) dans le même cas")
    return frame


def check(raw: bytes, *, filename: str = "") -> Report:
    """Read and validate a file's bytes; an unreadable file is a French error, never an exception.
    The import's bounds (size, columns, cells: `reading.Limits`) are checked before parsing."""
    from cdv_core import settings
    from cdv_core.ingest import reading

    try:
        limits = reading.Limits.from_settings(max_bytes=settings.load().max_upload_mb * 1024 * 1024)
        if len(raw) > limits.max_bytes:
            raise reading.ReadError(reading.too_big_message(len(raw), limits.max_bytes))
        if raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] != b"[":
            reading.check_csv_bounds(raw, limits)
    except reading.ReadError as exc:
        return Report(posts=pl.DataFrame(), errors=[f"Fichier refusé ({filename or 'sans nom'}) : {exc}"])
    try:
        frame = read(raw, filename=filename)
    except (ValueError, IndexError, json.JSONDecodeError, pl.exceptions.PolarsError) as exc:
        return Report(posts=pl.DataFrame(), errors=[f"Fichier illisible ({filename or 'sans nom'}) : {str(exc)[:200]}"])
    return validate(frame)


def diff(cur: duckdb.DuckDBPyConnection, report: Report) -> dict:
    """How the validated posts compare with the store: new / changed / unchanged posts."""
    cur.register("_ar", report.posts.to_arrow())
    try:
        row = cur.execute(
            """SELECT count(*) FILTER (WHERE p.id_poste IS NULL),
                      count(*) FILTER (WHERE p.id_poste IS NOT NULL AND (
                          p.employeur IS DISTINCT FROM x.employeur OR p.siret_employeur IS DISTINCT FROM x.siret_employeur
                          OR p.code_cv_2015 IS DISTINCT FROM x.code_cv_2015
                          OR f.montant IS DISTINCT FROM CAST(x.montant AS DECIMAL(14, 2)))),
                      count(*) FILTER (WHERE p.id_poste IS NOT NULL AND NOT (
                          p.employeur IS DISTINCT FROM x.employeur OR p.siret_employeur IS DISTINCT FROM x.siret_employeur
                          OR p.code_cv_2015 IS DISTINCT FROM x.code_cv_2015
                          OR f.montant IS DISTINCT FROM CAST(x.montant AS DECIMAL(14, 2))))
               FROM _ar x LEFT JOIN poste p USING (id_poste)
               LEFT JOIN financement_poste f ON f.id_poste = x.id_poste AND f.annee = x.annee AND f.financeur = 'État P147'"""
        ).fetchall()[0]
    finally:
        cur.unregister("_ar")
    return {"nouveaux": row[0], "modifies": row[1], "inchanges": row[2]}


def loads(cur: duckdb.DuckDBPyConnection, report: Report) -> list[Load]:
    """The validated posts as the rows to write: one `poste` of type adulte-relais each (an
    existing post keeps its type, title, ETP, source and contract; its employer is updated and it
    keeps its link to a porteur when the file's SIRET matches none) and one `financement_poste`
    line `État P147 / annee / montant`."""
    cur.register("_ar", report.posts.to_arrow())
    try:
        postes = cur.sql(
            """SELECT x.id_poste, 'adulte-relais' AS type_poste, 'Adulte-relais' AS intitule, x.employeur,
                      x.siret_employeur, 1.0 AS etp, x.code_cv_2015, x.insee_dep, 'adultes-relais ' || x.annee AS source,
                      coalesce(e.id_porteur, p.id_employeur) AS id_employeur
               FROM _ar x LEFT JOIN poste p USING (id_poste)
               LEFT JOIN (SELECT siret, min(id_porteur) AS id_porteur FROM porteur GROUP BY siret) e
                 ON e.siret = x.siret_employeur""").pl()
    finally:
        cur.unregister("_ar")
    funding = report.posts.select("id_poste", pl.lit("État P147").alias("financeur"), "annee", "montant")
    return [Load("poste", postes, ("id_poste",), ("employeur", "siret_employeur", "code_cv_2015", "insee_dep",
                                                  "id_employeur")),
            Load("financement_poste", funding, ("id_poste", "financeur", "annee"), ("montant",))]


@store.retry_on_conflict
def write(con: duckdb.DuckDBPyConnection, report: Report, *, user: access.User, fichier: str | None = None,
          empreinte: str | None = None) -> dict:
    """Write the validated posts through the import pipeline's commit (one checked transaction,
    logged, with what a rollback needs); returns the diff counts. The list is national: an
    administrator imports it (see `access`)."""
    if not report.ok:
        raise store.StoreError("Le fichier contient des erreurs : rien n'a été importé.")
    cur = con.cursor()
    try:
        counts = diff(cur, report)
        rows = loads(cur, report)
    finally:
        cur.close()
    analysis = Analysis(fichier=fichier or "", empreinte=empreinte or "", taille=0, kind=TYPE_IMPORT,
                        kind_label="Liste nationale des adultes-relais", nb_lignes=report.nb_lignes, loads=rows)
    # one attempt of the commit: on a conflict this whole function runs again, loads read anew
    commit.__wrapped__(con, analysis, user=user)
    return counts


def import_file(con: duckdb.DuckDBPyConnection, data: bytes | str | Path, *, user: access.User,
                filename: str = "") -> tuple[Report, dict | None]:
    """Read, validate and (when valid) write a national adulte-relais list. Returns the report
    and the diff counts (None when nothing was written)."""
    raw = Path(data).read_bytes() if isinstance(data, (str, Path)) else data
    filename = filename or (Path(data).name if isinstance(data, (str, Path)) else "")
    report = check(raw, filename=filename)
    if not report.ok:
        return report, None
    counts = write(con, report, user=user, fichier=filename, empreinte=hashlib.sha256(raw).hexdigest())
    return report, counts


@store.retry_on_conflict
def attach_contract(con: duckdb.DuckDBPyConnection, *, user: access.User, code_cv_2015: str,
                    code_contrat: str | None) -> None:
    """Attach a 2015-generation contract code to a 2024 contract (None: detach). The posts
    carrying that code then count in the contract. One checked transaction; `user` must write
    the new contract and the one the code was attached to."""
    code = (code_cv_2015 or "").strip()
    if not code:
        raise store.StoreError("Choisissez un code de contrat 2015 (par exemple CV049).")
    audit = store.Audit(user.label, "Code 2015 rattaché" if code_contrat else "Code 2015 détaché",
                        detail={"code 2015": code, "contrat": code_contrat})
    with store.transaction(con, written={"correspondance_contrat"}, audit=audit) as cur:
        audit.contrats = {code_contrat, *(r[0] for r in cur.execute(
            "SELECT code_contrat FROM correspondance_contrat WHERE code_cv_2015 = $code", {"code": code}).fetchall())} - {None}
        access.require(cur, user, access.WRITE, contrats=audit.contrats)
        if code_contrat is None:
            cur.execute("DELETE FROM correspondance_contrat WHERE code_cv_2015 = $code", {"code": code})
        else:
            cur.execute("DELETE FROM correspondance_contrat WHERE code_cv_2015 = $code", {"code": code})
            cur.execute("INSERT INTO correspondance_contrat VALUES ($code, $contrat)", {"code": code, "contrat": code_contrat})
