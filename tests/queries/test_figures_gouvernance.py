"""`cdv_core.figures.gouvernance` on the demo: cards, the late-instances wording for 1 and 2, the
per-type table's headers, the meetings per year (one aggregation for the page and the séance) and the
charts' fields and French formats."""

from __future__ import annotations

import polars as pl

from cdv_core import fmt, settings
from cdv_core.figures import gouvernance as fig
from cdv_core.queries import gouvernance as gouv
from tests.conftest import DEMO_AU

CONTRAT = "CV-DEMO-VERM"
TOLERANCE = settings.load().cadence_tolerance_days


def _instances(cur, contrat=None):
    return gouv.instance_cadence(cur, contrat=contrat, donnees_au=DEMO_AU, tolerance_days=TOLERANCE)


def _french(spec: dict) -> None:
    assert spec["config"]["locale"]["number"]["decimal"] == ","


def test_headline_cards(demo_cur):
    instances = _instances(demo_cur)
    head, decisions = gouv.headline(instances), gouv.decision_counts(demo_cur, contrat=None, donnees_au=DEMO_AU)
    cards = fig.headline_cards(head, decisions, tolerance=TOLERANCE)
    assert [c.label for c in cards] == [
        "Instances",
        "Instances en retard",
        "Réunions tenues (12 derniers mois)",
        "Habitants présents (12 derniers mois)",
        "Décisions en retard",
    ]
    assert [c.value for c in cards] == [
        fmt.integer(head["instances"]),
        fmt.integer(head["en_retard"]),
        fmt.integer(head["tenues_12_mois"]),
        fmt.integer(head["habitants_12_mois"]),
        fmt.integer(decisions["en_retard"]),
    ]
    assert fmt.plural(TOLERANCE, "jour") in (cards[1].help or "")
    assert fig.headline_cards(head, decisions, tolerance=TOLERANCE, habitants="< 11")[3].value == "< 11"


def test_late_warning_for_one_and_two_instances(demo_cur):
    instances = _instances(demo_cur)
    late = instances.filter(pl.col("en_retard"))
    assert late.height >= 2
    one, two = fig.late_warning(late.head(1), instances.height), fig.late_warning(late.head(2), instances.height)
    assert one is not None and one.startswith("**1 instance en retard** sur ")
    assert two is not None and two.startswith("**2 instances en retard** sur ")
    assert fig.late_warning(late.head(0), instances.height) is None


def test_types_table_headers(demo_cur):
    by_type = gouv.cadence_by_type(demo_cur, contrat=None, donnees_au=DEMO_AU, tolerance_days=TOLERANCE)
    table = fig.types_table(by_type, year=DEMO_AU.year)
    y, m = DEMO_AU.year, gouv.RECENT_MONTHS
    assert table.columns == [
        "Type d'instance",
        "Instances",
        "En retard",
        f"Tenues {y}",
        f"Attendues {y}",
        f"Tenues ({m} mois)",
        f"Habitants présents ({m} mois)",
    ]


def test_meetings_per_year_is_the_sum_of_the_query(demo_cur):
    yearly = gouv.yearly_meetings(demo_cur, contrat=None, donnees_au=DEMO_AU)
    per_year = fig.meetings_per_year(yearly)
    assert set(per_year["serie"]) == set(fig.YEAR_SERIES.values())
    for column, label in fig.YEAR_SERIES.items():
        shown = per_year.filter(pl.col("serie") == label)["reunions"].sum()
        assert shown == yearly[column].sum()
    until = fig.meetings_per_year(yearly, series={"tenues": "tenues"}, until=DEMO_AU.year)
    assert until["annee"].cast(pl.Int32).max() <= DEMO_AU.year
    assert until["reunions"].sum() == yearly.filter(pl.col("annee") <= DEMO_AU.year)["tenues"].sum()


def test_meetings_charts_fields_and_formats(demo_cur):
    spec = fig.meetings_per_year_chart(gouv.yearly_meetings(demo_cur, contrat=None, donnees_au=DEMO_AU)).to_dict()
    _french(spec)
    enc = spec["encoding"]
    assert (enc["x"]["field"], enc["y"]["field"], enc["color"]["scale"]["domain"]) == (
        "annee",
        "reunions",
        fig.YEAR_SERIES_ORDER,
    )
    assert {t["field"]: t.get("format") for t in enc["tooltip"]}["reunions"] == ",d"

    timeline = gouv.meetings_timeline(demo_cur, contrat=CONTRAT)
    with_people = fig.calendar_chart(timeline, donnees_au=DEMO_AU, people=True).to_dict()
    without = fig.calendar_chart(timeline, donnees_au=DEMO_AU, people=False).to_dict()
    _french(with_people)
    fields = [t["field"] for t in with_people["layer"][0]["encoding"]["tooltip"]]
    assert {"nb_participants", "nb_habitants"} <= set(fields)
    assert not {"nb_participants", "nb_habitants"} & {t["field"] for t in without["layer"][0]["encoding"]["tooltip"]}
    date_tip = next(t for t in with_people["layer"][0]["encoding"]["tooltip"] if t["field"] == "date_reunion")
    assert date_tip["format"] == "%d/%m/%Y"
    assert with_people["layer"][1]["encoding"]["tooltip"][0]["title"] == "Données au"

    monthly = fig.monthly_chart(
        gouv.meetings_by_month(demo_cur, contrat=None, donnees_au=DEMO_AU), donnees_au=DEMO_AU
    ).to_dict()
    assert monthly["layer"][0]["encoding"]["tooltip"][0]["format"] == "%B %Y"


def test_residents_cards_and_charts(demo_cur):
    bodies = gouv.residents_bodies(demo_cur, contrat=None, donnees_au=DEMO_AU)
    summary = gouv.residents_summary(bodies)
    cards = fig.residents_cards(summary)
    assert cards[0].value == f"{fmt.integer(summary['conseil_citoyen_actif'])} / {fmt.integer(summary['qpv'])}"
    part = fig.participation_chart(gouv.participation_by_type(demo_cur, contrat=None, donnees_au=DEMO_AU)).to_dict()
    _french(part)
    formats = {t["field"]: t.get("format") for t in part["encoding"]["tooltip"]}
    assert formats["habitants_par_reunion"] == ",.1f" and formats["part_habitants"] == ".1%"
    dots = fig.residents_chart(gouv.residents_per_meeting(demo_cur, contrat=CONTRAT, donnees_au=DEMO_AU)).to_dict()
    assert dots["encoding"]["x"]["axis"]["format"] == "%m/%Y"


def test_form_labels_say_which_instances_are_late(demo_cur):
    choices = gouv.instance_choices(demo_cur, contrat=CONTRAT, donnees_au=DEMO_AU, tolerance_days=TOLERANCE)
    labels = fig.instance_labels(choices)
    late = choices.filter(pl.col("en_retard"))["code_instance"].to_list()
    assert late and all(labels[c].endswith(" — en retard") for c in late)
    assert sum(label.endswith(" — en retard") for label in labels.values()) == len(late)
