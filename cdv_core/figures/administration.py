"""« Administration »: the wording and the accounts table an administrator sees, built from
`access.users`. Pure functions: no Streamlit, no SQL."""

from __future__ import annotations

import polars as pl

from cdv_core import access, fmt
from cdv_core.memo import by_content

AUTH_OFF = (
    "L'identification est désactivée (CDV_AUTH=aucune) : toute personne qui ouvre l'application peut tout "
    "faire, et les comptes ci-dessous ne servent pas encore. Ils prendront effet dès que l'identification "
    "sera activée (voir docs/acces.md) : vous pouvez les préparer dès maintenant."
)
REMOVE_CONFIRM = (
    "Je confirme : supprimer ce compte (ses modifications passées gardent son nom ; pour "
    "suspendre un accès, désactivez plutôt le compte)"
)


def accounts_caption(nb_accounts: int) -> str:
    if not nb_accounts:
        return "Aucun compte pour l'instant."
    return f"{fmt.plural(nb_accounts, 'compte')} · un administrateur a accès à tous les contrats."


@by_content
def accounts_table(accounts: pl.DataFrame) -> pl.DataFrame:
    """The accounts (`access.users`) with French headers: roles by name, « tous » as the contracts of
    an administrator; « Actif » stays a boolean and the dates stay dates (the page formats them)."""
    return accounts.select(
        pl.col("email").alias("Adresse"),
        pl.col("nom").fill_null("").alias("Nom"),
        pl.col("role").replace(access.ROLES).alias("Rôle"),
        pl.col("actif").alias("Actif"),
        pl.when(pl.col("role") == access.ADMIN).then(pl.lit("tous")).otherwise(pl.col("contrats")).alias("Contrats"),
        pl.col("cree_le").alias("Créé le"),
        pl.col("modifie_le").alias("Modifié le"),
    )


def account_labels(accounts: pl.DataFrame) -> dict[str, str]:
    """Email → how an account is named in the selectboxes: `Nom <adresse>`, or the address alone."""
    return dict(
        zip(
            accounts["email"].to_list(),
            accounts.select(
                pl.when(pl.col("nom").is_null() | (pl.col("nom") == ""))
                .then(pl.col("email"))
                .otherwise(pl.format("{} <{}>", "nom", "email"))
            )
            .to_series()
            .to_list(),
            strict=True,
        )
    )
