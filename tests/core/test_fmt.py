from datetime import date

from cdv_core import fmt


def test_french_numbers_amounts_and_dates():
    assert fmt.euros(1234567) == "1\u202f234\u202f567\u00a0€"
    assert fmt.percent(0.125) == "12,5\u00a0%"
    assert fmt.day(date(2024, 3, 31)) == "31/03/2024"
    assert fmt.number(1234.5, 2) == "1\u202f234,50"
    assert fmt.long_day(date(2027, 6, 30)) == "30 juin 2027"


def test_missing_values_are_a_dash_not_zero():
    assert fmt.euros(None) == "—"
    assert fmt.percent(float("nan")) == "—"
    assert fmt.day(None) == "—"


def test_plural_follows_french_rule():
    assert fmt.plural(0, "jour") == "0 jour"
    assert fmt.plural(1, "jour") == "1 jour"
    assert fmt.plural(2, "jour") == "2 jours"


def test_compact_amounts():
    assert fmt.euros_compact(1_260_000) == "1,3\u00a0M€"
    assert fmt.euros_compact(350_000) == "350\u00a0k€"


def test_vectorised_formats_match_the_scalar_ones():
    import polars as pl

    values = [1234567.891, 999.999, 0.0, 12.0, -1234.0, 5.5]
    frame = pl.DataFrame({"x": [*values, None], "d": [date(2024, 3, 31)] * 7})
    out = frame.select(
        fmt.number_expr(pl.col("x"), 2).alias("n"),
        fmt.euros_expr(pl.col("x")).alias("e"),
        fmt.percent_expr(pl.col("x") / 100).alias("p"),
        fmt.day_expr(pl.col("d")).alias("d"),
    )
    assert out["n"].to_list() == [fmt.number(v, 2) for v in values] + [None]
    assert out["e"].to_list()[:5] == [fmt.euros(v) for v in values[:5]]
    assert out["p"][0] == fmt.percent(values[0] / 100)
    assert out["d"][0] == "31/03/2024"


def test_short_contract_drops_the_common_prefix_only():
    assert (
        fmt.short_contract("Contrat de ville de la CA du Pays de Vermandie (démo)") == "CA du Pays de Vermandie (démo)"
    )
    assert fmt.short_contract("Contrat de ville de Montval-sur-Somme (démo)") == "Montval-sur-Somme (démo)"
    assert fmt.short_contract("Contrat de ville de l'Agglomération du Choletais") == "Agglomération du Choletais"
    assert fmt.short_contract("Contrat de ville du Grand Reims") == "Grand Reims"
    assert fmt.short_contract("contrat de ville des Portes de l'Isère") == "Portes de l'Isère"
    assert fmt.short_contract("Contrat de ville") == "Contrat de ville"  # nothing left: kept whole
    assert fmt.short_contract("CV Saint-Quentin") == "CV Saint-Quentin"
