"""Settings are data: one frozen dataclass read from the environment, documented in README."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "CDV_STORE",
        str(PROJECT_ROOT / "data" / "cdv.duckdb"),
        "La base : chemin d'un fichier DuckDB (créé avec le territoire de démonstration s'il est absent), ou "
        "base partagée « ducklake:postgres:dbname=… host=… port=… user=… » (catalogue PostgreSQL).",
    ),
    Setting(
        "CDV_DATA_PATH",
        "",
        "Base partagée seulement : dossier (ou s3://…) des fichiers de données, partagé par toutes les instances ; "
        "nécessaire pour créer la base, ensuite lu dans son catalogue.",
    ),
    Setting(
        "CDV_UNPAID_MONTHS",
        "3",
        "Nombre de mois après la décision au-delà duquel une subvention accordée et non versée est signalée.",
    ),
    Setting(
        "CDV_CADENCE_TOLERANCE_DAYS",
        "30",
        "Tolérance (jours) au-delà de la cadence attendue avant de signaler une instance en retard.",
    ),
    Setting(
        "CDV_INDICATOR_MAX_AGE_MONTHS",
        "24",
        "Âge maximal (mois) de la dernière valeur d'un indicateur avant qu'elle soit jugée ancienne, pour une "
        "source sans rythme de publication connu (les autres sont jugées sur leur dernier millésime publié).",
    ),
    Setting(
        "CDV_AUTH",
        "aucune",
        "Identification : « aucune » (pas de connexion : toute personne qui ouvre l'application peut modifier les "
        "données ; démonstration, poste isolé), « oidc » (connexion OpenID Connect, par exemple ProConnect ou "
        "Keycloak, réglée dans .streamlit/secrets.toml) ou « entete » (derrière un mandataire inverse qui "
        "authentifie et transmet l'adresse électronique dans un en-tête). Voir docs/acces.md.",
    ),
    Setting(
        "CDV_AUTH_ENTETE",
        "X-Forwarded-Email",
        "Mode « entete » seulement : nom de l'en-tête HTTP qui porte l'adresse électronique de la personne "
        "connectée. À n'utiliser que si l'application n'est joignable qu'à travers ce mandataire.",
    ),
    Setting(
        "CDV_UTILISATEUR",
        "",
        "Mode « aucune » : nom sous lequel les modifications sont enregistrées (défaut : l'utilisateur du système).",
    ),
    Setting(
        "CDV_CONTACT",
        "",
        "Qui contacter pour obtenir un accès (affiché à une personne connectée sans droits) ; défaut : "
        "les administrateurs de la base.",
    ),
    Setting(
        "CDV_SEUIL_SECRET",
        "11",
        "Seuil du secret statistique : pour le rôle partenaire et les exports publiables, un effectif de "
        "personnes inférieur à ce seuil s'affiche « < seuil ».",
    ),
    Setting(
        "CDV_BILAN_DELAI_MOIS",
        "6",
        "Délai (mois) après la fin d'un exercice pour remettre le bilan d'une action subventionnée (compte "
        "rendu financier, CERFA n° 15059) : avec 6, le bilan de l'exercice 2024 est attendu le 30/06/2025 ; "
        "au-delà, il est « en retard ».",
    ),
    Setting(
        "CDV_MAX_UPLOAD_MB",
        "50",
        "Taille maximale (Mo) d'un fichier déposé sur l'écran « Mise à jour des données » (200 au plus ; "
        "la ligne de commande accepte 200 Mo).",
    ),
    Setting(
        "CDV_MAX_COLONNES",
        "500",
        "Nombre maximal de colonnes d'un fichier importé (CSV ou Excel) ; au-delà, le fichier est refusé "
        "avant d'être lu.",
    ),
    Setting(
        "CDV_FOND_TUILES",
        "",
        "Fond de carte en tuiles, facultatif (désactivé par défaut : les cartes n'ont alors que le fond hors "
        "ligne des départements et des communes) : adresse https d'un service de tuiles raster avec {z}, {x} "
        "et {y}, par exemple le plan IGN de la Géoplateforme (voir docs/projets.md). Chaque navigateur charge "
        "alors les tuiles depuis ce service.",
    ),
    Setting(
        "CDV_MAX_CELLULES",
        "20000000",
        "Nombre maximal de cellules (lignes × colonnes) d'un fichier importé ; au-delà, le fichier est refusé "
        "avant d'être lu (borne la mémoire d'un import : environ 1 Go au maximum).",
    ),
    Setting(
        "CDV_SLOW_QUERY_SECONDS",
        "1",
        "Durée (secondes, décimales permises) au-delà de laquelle une requête d'une page est signalée dans le "
        "journal du serveur (niveau WARNING), avec sa fonction et ses paramètres ; 0 : toutes.",
    ),
    Setting(
        "CDV_PRECALCUL",
        "oui",
        "Après chaque modification de la base, recalculer aussitôt, en arrière-plan, les chiffres que les pages "
        "ont affichés récemment (oui ou non) : les visiteurs suivants trouvent leurs pages prêtes.",
    ),
    Setting(
        "CDV_EXECUTIONS_SIMULTANEES",
        "auto",
        "Nombre de pages calculées en même temps par chaque processus du serveur : auto (autant que de cœurs "
        "dont il dispose) ou un nombre entier de 1 à 256. Les autres attendent leur tour dans l'ordre d'arrivée "
        "(60 s au plus : au-delà, la page est calculée quand même). Quand vingt personnes cliquent ensemble, "
        "chacune attend à peu près le même temps, plutôt que de voir les pages les plus lourdes s'éterniser.",
    ),
    Setting(
        "CDV_CACHE_DISQUE",
        "oui",
        "Garder aussi sur disque les chiffres calculés pour les pages (oui, non, ou le chemin absolu d'un dossier ; "
        "oui : ~/.cache/cdv-pilotage) : un serveur qui redémarre, ou une autre instance de l'application sur cette "
        "machine et la même base, les relit au lieu de les recalculer. Chaque chiffre y est rangé avec le jeton "
        "de la version des données (tiré au hasard à chaque écriture) et l'empreinte de l'application : il n'est "
        "relu que pour les mêmes données et le même code. Le dossier doit appartenir à l'utilisateur qui lance "
        "l'application et être fermé aux autres (chmod 700).",
    ),
)
AUTH_MODES = ("aucune", "oidc", "entete")
UPLOAD_CEILING_MB = 200  # .streamlit/config.toml server.maxUploadSize: the server refuses above, in English


class SettingError(ValueError):
    """A setting's value is unusable; the message is French and names the variable."""


@dataclass(frozen=True)
class Settings:
    store_path: str = field(default_factory=lambda: _get("CDV_STORE"))  # a file path or a DuckLake URL
    unpaid_months: int = field(default_factory=lambda: _int("CDV_UNPAID_MONTHS", 0, 120))
    cadence_tolerance_days: int = field(default_factory=lambda: _int("CDV_CADENCE_TOLERANCE_DAYS", 0, 365))
    indicator_max_age_months: int = field(default_factory=lambda: _int("CDV_INDICATOR_MAX_AGE_MONTHS", 1, 240))
    max_upload_mb: int = field(default_factory=lambda: _int("CDV_MAX_UPLOAD_MB", 1, UPLOAD_CEILING_MB))
    max_columns: int = field(default_factory=lambda: _int("CDV_MAX_COLONNES", 2, 16_384))
    max_cells: int = field(default_factory=lambda: _int("CDV_MAX_CELLULES", 1_000, 200_000_000))
    auth: str = field(default_factory=lambda: _choice("CDV_AUTH", AUTH_MODES))
    auth_header: str = field(default_factory=lambda: _get("CDV_AUTH_ENTETE").strip())
    local_user: str = field(default_factory=lambda: _get("CDV_UTILISATEUR").strip())
    contact: str = field(default_factory=lambda: _get("CDV_CONTACT").strip())
    secret_threshold: int = field(default_factory=lambda: _int("CDV_SEUIL_SECRET", 1, 1000))
    bilan_delai_mois: int = field(default_factory=lambda: _int("CDV_BILAN_DELAI_MOIS", 0, 36))
    map_tiles: str = field(default_factory=lambda: _tiles("CDV_FOND_TUILES"))
    slow_query_seconds: float = field(default_factory=lambda: _seconds("CDV_SLOW_QUERY_SECONDS", 3600))
    warm_up: bool = field(default_factory=lambda: _choice("CDV_PRECALCUL", ("oui", "non")) == "oui")
    # the read cache's folder on disk: "" for the default one, None when off (`cdv_core.read_cache`)
    read_cache_folder: str | None = field(default_factory=lambda: _folder_or_switch("CDV_CACHE_DISQUE"))
    runs_at_once: int = field(default_factory=lambda: load_runs_at_once())


def _get(env: str) -> str:
    default = next(s.default for s in SETTINGS if s.env == env)
    return os.environ.get(env) or default


def _int(env: str, low: int, high: int) -> int:
    text = _get(env).strip()
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise SettingError(
            f"Réglage {env} : « {text} » n'est pas accepté ; attendu un nombre entier de {low} à {high}. "
            "Corrigez la variable d'environnement puis relancez l'application."
        )
    return value


def _seconds(env: str, high: float) -> float:
    """A duration in seconds from 0 to `high`, with a decimal point or comma (« 0,5 »)."""
    text = _get(env).strip()
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        value = None
    if value is None or not 0 <= value <= high:  # NaN fails the comparison too
        raise SettingError(
            f"Réglage {env} : « {text} » n'est pas accepté ; attendu un nombre de secondes de 0 à "
            f"{high:g} (par exemple 1 ou 0,5). Corrigez la variable d'environnement puis relancez "
            "l'application."
        )
    return value


def _choice(env: str, choices: tuple[str, ...]) -> str:
    text = _get(env).strip().lower()
    if text not in choices:
        raise SettingError(
            f"Réglage {env} : « {text} » n'est pas accepté ; attendu : {', '.join(choices)}. "
            "Corrigez la variable d'environnement puis relancez l'application."
        )
    return text


def _tiles(env: str) -> str:
    """An https address of raster tiles with {z}, {x} and {y}, or "" (no tile layer)."""
    text = _get(env).strip()
    if text and not (
        text.startswith("https://")
        and all(p in text for p in ("{z}", "{x}", "{y}"))
        and not any(c.isspace() or c in "\"'<>`" for c in text)
    ):
        raise SettingError(
            f"Réglage {env} : « {text} » n'est pas accepté ; attendu une adresse https de tuiles "
            "contenant {z}, {x} et {y}, ou rien pour s'en passer. Corrigez la variable "
            "d'environnement puis relancez l'application."
        )
    return text


def _folder_or_switch(env: str) -> str | None:
    """« oui » → "" (the default folder), « non » → None, else an absolute folder path."""
    text = _get(env).strip()
    if text.lower() in ("oui", "non"):
        return "" if text.lower() == "oui" else None
    if not os.path.isabs(text):
        raise SettingError(
            f"Réglage {env} : « {text} » n'est pas accepté ; attendu oui, non ou le chemin absolu d'un "
            "dossier. Corrigez la variable d'environnement puis relancez l'application."
        )
    return text


def default_runs_at_once() -> int:
    """« auto »: as many page runs at once as this process may use cores (a container's or
    `taskset`'s share, not the host's; a CPU quota set by cgroups is not seen: then set a number)."""
    return max(1, len(os.sched_getaffinity(0)))


def load_runs_at_once() -> int:
    """`CDV_EXECUTIONS_SIMULTANEES` alone (the page runs' turns are made before a page loads every
    setting): « auto » → `default_runs_at_once()`, else a whole number from 1 to 256."""
    env = "CDV_EXECUTIONS_SIMULTANEES"
    text = _get(env).strip()
    if text.lower() == "auto":
        return default_runs_at_once()
    if text.isascii() and text.isdigit() and 1 <= int(text) <= 256:  # not « ² », a digit int() refuses
        return int(text)
    raise SettingError(
        f"Réglage {env} : « {text} » n'est pas accepté ; attendu auto ou un nombre entier de 1 à 256. "
        "Corrigez la variable d'environnement puis relancez l'application."
    )


def load() -> Settings:
    return Settings()


__all__ = [
    "AUTH_MODES",
    "SETTINGS",
    "UPLOAD_CEILING_MB",
    "Setting",
    "SettingError",
    "Settings",
    "default_runs_at_once",
    "load",
    "load_runs_at_once",
]
