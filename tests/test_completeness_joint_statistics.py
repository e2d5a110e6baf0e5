"""All completeness tests of a partner-day together, measured by simulation on their real SQL.

A partner-day blocks the marts when any of its tests fails: the store-visit exact binomial test,
the four stage tests, the brand tests or the within-day profile test. Each family's own
simulation (tests/test_completeness_statistics.py, ..._stage_statistics.py,
..._brand_profile_statistics.py) measures one family; this one runs the compiled SQL of every
test model and of the three completeness marts on the same simulated partners and reads
`mart_callback_completeness.blocks_marts`, so the false alarm rate it measures is the union's.

Each simulated partner is a 40-day run (its own dates: the brand test's exposure is
content-side, per date) with traffic varying +-20 % a day and the sampling ratio switching
50 % -> 100 % on day 20 (two programme versions in the policy). `visitors` is the store-visit
users a day at 100 % sampling; of them 40 % landed from a click (the content side's clicked users
N ~ Poisson(0.4 visitors traffic / 0.95), landed ~ Binomial(N, ratio x 0.95)), the other 60 %
are the search test's reference. The stages, brands and hourly profile are drawn as in the
family simulations (their `STAGES`, `BRANDS`, `HOURS`, with their day-to-day variation), scaled
to the partner's size: brands x visitors / 1,000, callbacks 1.7 x visitors a day (the small test
world has about 1,000 visitors, 1,000 brand users and 1,700 callbacks a day).

`benchmarks/completeness_joint.py` runs the same harness on more partners (the table in
docs/completeness.md).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from compiled_sql import CompiledProject, compile_project
from scipy.stats import beta, binom

from redcat.completeness import dbt_vars

sys.path.insert(0, str(Path(__file__).parent))
from test_completeness_brand_profile_statistics import BRANDS, HOURS  # noqa: E402
from test_completeness_stage_statistics import LINK_COLUMNS, STAGES, draw_stages, link_rows  # noqa: E402

LANDING, CLICK_SHARE, DAYS, SWITCH, MIN_DAYS = 0.95, 0.4, 40, 20, 10
DAY0 = dt.date(2000, 1, 1)
BUDGET = 0.001  # the target: false alarms of all tests together per partner-day
MODELS = (
    "int_log_factorials",
    "int_completeness_tests",
    "int_completeness_stage_tests",
    "int_completeness_brand_tests",
    "int_completeness_profile_tests",
    "mart_callback_completeness_stages",
    "mart_callback_completeness_brands",
    "mart_callback_completeness",
)
EVENT_TYPES = [("search", 1), ("store_visit", 2), ("add_to_cart", 3), ("purchase", 4), ("refund", 5)]


def compile_models(home: Path) -> tuple[Path, dict[str, str]]:
    """Every completeness model's compiled SQL (benchmarks/completeness_joint.py compiles its own)
    and a scratch warehouse to run it in."""
    project = compile_project(home / "dbt")
    return CompiledProject.scratch(home), {m: project.sql(m) for m in MODELS}


@pytest.fixture(scope="module")
def compiled(compiled_project, tmp_path_factory):
    home = tmp_path_factory.mktemp("joint_sim")
    return CompiledProject.scratch(home), {m: compiled_project.sql(m) for m in MODELS}


def _day(p: int, d: int) -> dt.date:
    return DAY0 + dt.timedelta(days=50 * p + d)


def simulate(
    rng, partners: int, visitors: float, first: int = 0, loss: dict | None = None, at: int = DAYS - 1
) -> dict[str, pd.DataFrame]:
    """Every input of the completeness models for `partners` complete partners (`loss`:
    {stage: share of its users lost} on each partner's day `at`, by default the last)."""
    policy, clicks, links, brands, hours = [], [], [], [], []
    ratio = np.where(np.arange(DAYS) < SWITCH, 0.5, 1.0)
    for p in range(first, first + partners):
        name = f"p{p}"
        policy += [
            (name, "v1", 0.5, LANDING, _day(p, 0), _day(p, SWITCH - 1)),
            (name, "v2", 1.0, LANDING, _day(p, SWITCH), _day(p, DAYS - 1)),
        ]
        traffic = rng.uniform(0.8, 1.2, DAYS)
        clicked = rng.poisson(CLICK_SHARE * visitors * traffic / LANDING)
        landed = rng.binomial(clicked, ratio * LANDING)
        without_click = rng.poisson((1 - CLICK_SHARE) * visitors * ratio * traffic)
        if loss and "store_visit" in loss:  # users whose store-visit callbacks are lost, on the last day
            landed[at] = rng.binomial(landed[at], 1 - loss["store_visit"])
            without_click[at] = rng.binomial(without_click[at], 1 - loss["store_visit"])
        visits = landed + without_click
        for d in range(DAYS):
            clicks.append((_day(p, d), name, int(clicked[d]), int(landed[d])))
        stage_loss = {s: share for s, share in (loss or {}).items() if s != "store_visit"}
        links += link_rows(lambda d, p=p: _day(p, d), name, draw_stages(rng, visits, without_click, stage_loss, at))
        size = visitors / 1000
        for b, (mu, cv) in enumerate(BRANDS):
            g = rng.gamma(1 / cv**2, cv**2, DAYS) if cv else np.ones(DAYS)
            x = rng.poisson(mu * size * ratio * traffic * g)
            e = rng.poisson(10 * mu * size * traffic)
            brands += [(_day(p, d), name, f"b{b:02d}", int(x[d]), int(e[d])) for d in range(DAYS)]
        for d in range(DAYS):
            profile = HOURS * rng.gamma(400, 1 / 400, 24)
            users = rng.multinomial(rng.poisson(1.7 * visitors / 1.6 * ratio[d] * traffic[d]), profile / profile.sum())
            per_hour = users + rng.poisson(0.6 * users)
            hours += [(_day(p, d), name, h, int(per_hour[h])) for h in range(24) if per_hour[h]]
    return {
        "policy": pd.DataFrame(
            policy, columns=["partner", "program_version", "sampling_ratio", "landing_rate", "valid_from", "valid_to"]
        ),
        "clicks": pd.DataFrame(clicks, columns=["report_date", "partner", "clicked_users", "visited_users"]),
        "links": pd.DataFrame(links, columns=LINK_COLUMNS),
        "brands": pd.DataFrame(brands, columns=["report_date", "partner", "brand_id", "brand_users", "exposed_users"]),
        "hours": pd.DataFrame(hours, columns=["report_date", "partner", "callback_hour", "callbacks"]),
    }


def evaluate(compiled, sim: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Build every completeness model in order from the simulated inputs; return the marts."""
    path, sql = compiled
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    for schema in ("intermediate", "staging", "reference", "marts"):
        con.execute(f"CREATE SCHEMA {schema}")
    for name, frame in sim.items():
        con.register(name, frame)
    con.execute("""CREATE TABLE reference.callback_sampling_policy AS
                   SELECT partner, program_version, sampling_ratio, landing_rate, CAST(valid_from AS DATE) AS valid_from,
                          CAST(valid_to AS DATE) AS valid_to, '' AS note FROM policy""")
    con.execute("CREATE TABLE reference.callback_event_types (event_type VARCHAR, stage_order INTEGER)")
    con.executemany("INSERT INTO reference.callback_event_types VALUES (?, ?)", EVENT_TYPES)
    con.execute("""CREATE TABLE intermediate.int_partner_programme_days AS
                   SELECT c.report_date, c.partner, p.program_version, p.sampling_ratio, p.landing_rate
                   FROM clicks AS c JOIN reference.callback_sampling_policy AS p
                     ON c.partner = p.partner AND c.report_date BETWEEN p.valid_from AND p.valid_to""")
    con.execute("CREATE TABLE intermediate.int_touchpoints AS SELECT DISTINCT report_date AS delivery_date FROM clicks")
    con.execute("""CREATE TABLE staging.stg_partners__deliveries AS
                   SELECT partner, report_date AS delivery_date, 'loaded' AS delivery_status FROM clicks""")
    con.execute("""CREATE TABLE staging.stg_operator__completeness_acceptances (partner VARCHAR, report_date DATE,
                   stage VARCHAR, accepted_by VARCHAR, reason VARCHAR, accepted_at TIMESTAMP)""")
    con.execute("CREATE TABLE intermediate.int_click_coverage AS SELECT * FROM clicks")
    con.execute("CREATE TABLE intermediate.int_callback_stage_links AS SELECT * FROM links")
    con.execute("""CREATE TABLE intermediate.int_callback_brand_users AS
                   SELECT report_date, partner, brand_id, brand_users FROM brands WHERE brand_users > 0""")
    con.execute("""CREATE TABLE intermediate.int_brand_exposure AS
                   SELECT report_date, brand_id, exposed_users FROM brands""")
    con.execute("CREATE TABLE intermediate.int_callback_hours AS SELECT * FROM hours")
    for model in MODELS:
        schema = "marts" if model.startswith("mart_") else "intermediate"
        con.execute(f"CREATE TABLE {schema}.{model} AS {sql[model]}")
    out = {
        m: con.execute(f"SELECT * FROM marts.{m} ORDER BY partner, report_date").df()
        for m in (
            "mart_callback_completeness",
            "mart_callback_completeness_stages",
            "mart_callback_completeness_brands",
        )
    }
    con.close()
    return out


def judged_days(out: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Partner-days from the 11th on (every test has its minimum history), with which family blocks."""
    mart = out["mart_callback_completeness"].copy()
    mart["day"] = mart.groupby("partner").report_date.rank(method="first").astype(int) - 1
    days = mart[mart.day >= MIN_DAYS].copy()
    stages = out["mart_callback_completeness_stages"]
    failing = stages[stages.blocks_marts][["partner", "report_date", "stage"]]
    for stage in ["store_visit", *STAGES]:
        keys = set(map(tuple, failing[failing.stage == stage][["partner", "report_date"]].values))
        days[stage] = [(p, d) in keys for p, d in zip(days.partner, days.report_date)]
    days["brand"] = days.blocking_brands.notna()
    days["profile"] = days.profile_blocks
    return days


def upper_bound(failures: int, n: int, confidence: float = 0.95) -> float:
    """Clopper-Pearson one-sided upper bound of a binomial rate."""
    return float(beta.ppf(confidence, failures + 1, n - failures)) if failures < n else 1.0


def power(compiled, visitors: float, loss: dict, partners: int, seed: int, at: int = DAYS - 1) -> pd.DataFrame:
    """Per lost stage: the share of partners whose day `at` fails that stage and blocks the
    marts, and its mean expected users. The last day (the default) is at 100 % sampling with 28
    baseline days; day 19 the last at 50 % sampling, with 19."""
    out = evaluate(compiled, simulate(np.random.default_rng(seed), partners, visitors, loss=loss, at=at))
    mart, stages = out["mart_callback_completeness"], out["mart_callback_completeness_stages"]
    day = stages.groupby("partner").report_date.rank(method="dense").astype(int) - 1
    last = stages[day == at]
    last = last.merge(mart[["partner", "report_date", "blocks_marts"]].rename(columns={"blocks_marts": "day_blocks"}))
    rows = []
    for stage in loss:
        mine = last[last.stage == stage]
        judged = mine[mine.status != "insufficient_data"]
        caught = judged[(judged.status == "fail") & judged.day_blocks]
        rows.append(
            {
                "stage": stage,
                "expected_users": float(mine.expected_users.mean()),
                "judged": len(judged),
                "caught": len(caught) / len(judged) if len(judged) else float("nan"),
            }
        )
    return pd.DataFrame(rows).set_index("stage")


# Stages lost together in one simulation: no stage of a group is another's reference (store
# visits are the reference of search, add_to_cart and refund; add-to-carts of purchase), so
# each stage's test sees its own loss only.
LOSS_GROUPS = (("store_visit",), ("search", "add_to_cart", "refund"), ("purchase",))


def power_of_every_stage(compiled, visitors: float, loss: float, partners: int, seed, at: int = DAYS - 1):
    """power() of every stage, its loss simulated with the stages of its LOSS_GROUPS group."""
    seeds = [[*np.atleast_1d(seed), g] for g in range(len(LOSS_GROUPS))]
    return pd.concat(
        power(compiled, visitors, {s: loss for s in group}, partners, seed=sd, at=at)
        for group, sd in zip(LOSS_GROUPS, seeds)
    )


def test_the_family_alphas_share_the_partner_day_budget():
    """Bonferroni over the families: store visits, four stages, brands, profile."""
    v = dbt_vars()
    assert v["completeness_partner_day_alpha"] == BUDGET
    spent = v["completeness_alpha"] + len(STAGES) * v["completeness_stage_alpha"]
    spent += v["completeness_brand_alpha"] + v["completeness_profile_alpha"]
    assert spent <= BUDGET * (1 + 1e-9)


def test_the_union_of_false_alarms_is_below_the_budget_with_95_percent_confidence(compiled):
    """31,500 complete partner-days at three sizes (judged from the 11th day, across the switch):
    the one-sided 95 % upper bound of the share that blocks the marts is below 0.1 %, and at
    each size the count stays below what a rate of exactly 0.1 % exceeds in only 1 % of runs.
    A block is always one of the families' (the mart's blocks_marts is their union)."""
    blocked = n = 0
    families = ["store_visit", *STAGES, "brand", "profile"]
    for visitors in (300, 2000, 8000):
        days = pd.concat(
            judged_days(evaluate(compiled, simulate(np.random.default_rng([visitors, first]), 175, visitors, first)))
            for first in (0, 175)
        )
        assert len(days) == 350 * (DAYS - MIN_DAYS)
        assert (days[families].any(axis=1) == days.blocks_marts).all()
        assert days.blocks_marts.sum() <= binom.ppf(0.99, len(days), BUDGET), (visitors, days[families].sum())
        blocked, n = blocked + int(days.blocks_marts.sum()), n + len(days)
    assert upper_bound(blocked, n) <= BUDGET, f"{blocked} of {n} partner-days blocked"


@pytest.mark.parametrize("visitors", [400, 2000])
def test_a_total_loss_of_any_stage_always_blocks_the_day_once_history_exists(compiled, visitors):
    """Every stage (in LOSS_GROUPS: a stage apart from its reference) lost on the last day:
    every partner-day whose stage is judged (expected users >= 30) blocks."""
    table = power_of_every_stage(compiled, visitors, 1.0, 100, seed=visitors)
    judged = table[table.expected_users >= 30]
    assert set(judged.index) >= {"store_visit", "search", "add_to_cart", "purchase"}
    assert (judged.caught == 1.0).all(), table
    # a stage whose mean is well above the minimum is judged on every partner-day
    assert (table[table.expected_users >= 60].judged == 100).all(), table


def test_a_20_percent_loss_at_the_store_visit_tests_90_percent_size(compiled):
    """What is true where the store-visit test catches a 20 % loss 90 % of the time (50 %
    sampling, about 650 clicked users: 1,550 visitors a day; at 100 % sampling it needs only
    about 60 clicked users): store visits and searches (linked to the visitors not landed from a
    click, nearly all of whom searched) reach 90 %; add_to_cart and purchase, a fraction of the
    visitors, have too few users there and reach it from about 900 and 800 expected users
    (docs/completeness.md): 12,000 visitors a day at 100 % sampling."""
    small = power_of_every_stage(compiled, 1550, 0.2, 300, seed=31, at=SWITCH - 1)
    assert small.caught["store_visit"] >= 0.85, small  # 90 % expected; 300 days, 3 sd below
    assert small.caught["search"] >= 0.95, small
    assert small.caught["add_to_cart"] < 0.5 and small.caught["purchase"] < 0.5, small
    large = power(compiled, 12000, {"add_to_cart": 0.2}, 300, seed=33)
    large = pd.concat([large, power(compiled, 12000, {"purchase": 0.2}, 300, seed=34)])
    assert large.caught["add_to_cart"] >= 0.9 and large.caught["purchase"] >= 0.9, large
