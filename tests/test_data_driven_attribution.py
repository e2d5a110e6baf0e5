"""The data-driven attribution models (markov, shapley) against an independent Python reference.

The reference is written from the definitions in docs/attribution.md, not from the SQL: journeys
by a sequential scan of each user's events per brand (the SQL uses window functions), removal
effects by numpy's linear solver (the SQL unrolls Gauss-Jordan elimination), Shapley values as
the average marginal contribution over all K! orders of the channels (the SQL sums over the 2^K
coalitions with the |S|! (K - |S| - 1)! / K! weights), and the credit split.

Two data sets: synthetic journeys over 60 days, run through the compiled SQL of the four models
in a scratch DuckDB (many non-converting journeys, sliding training windows, ties), and the
warehouse built from generated data by the session fixture, checked end to end down to the
credits in marts.fct_attribution. Results agree within 1e-9; journey transition counts exactly.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd
import pytest
from compiled_sql import CompiledProject, compile_project
from warehouse import connect

TOLERANCE = 1e-9
LOOKBACK_DAYS = 15  # dbt_project.yml vars
TRAINING_DAYS = 28
MIN_JOURNEYS = 30
USER_SAMPLE = 0.0625  # data_driven_user_sample: users whose last two hex digits are below 0x10 train the chain
CHANNELS = ["view", "engagement", "click_note", "click_comment"]  # attribution_channels, in order
TYPES = ["search", "store_visit", "add_to_cart", "purchase"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
LOOKBACK = LOOKBACK_DAYS * 86400
MODELS = (
    "int_attribution_journey_transitions",
    "int_attribution_training_transitions",
    "int_attribution_markov_chain",
    "int_attribution_removal_effects",
    "int_attribution_shapley_values",
)


# --- the reference ---------------------------------------------------------------------------------


def channel_of(touch_kind: str, link_surface: str | None) -> str:
    if touch_kind == "click":
        return "click_note" if link_surface == "note" else "click_comment"
    return touch_kind


def business_date(epoch: float) -> dt.date:
    return dt.datetime.fromtimestamp(epoch, SHANGHAI).date()


def build_journeys(touches, conversions, last_delivery: dt.date) -> list[tuple]:
    """(journey_date, conversion_type, channels in order, converted) for every resolved journey.

    touches: (user, brand, epoch, event_id, channel); conversions: (user, brand, type, epoch, date).
    Per type, walk each user's events for a brand in time order (touches before conversions at the
    same second). `pending` holds the touches since the last conversion of the type, each within
    lookback of the one before. A conversion closes a converting journey with the pending touches
    of its lookback window; a gap of more than lookback after the last pending touch (or the end)
    closes a non-converting one with the lookback window before that touch, resolved lookback later.
    """
    events = defaultdict(list)
    for user, brand, epoch, event_id, channel in touches:
        events[user, brand].append((epoch, 0, event_id, channel, None))
    for user, brand, ctype, epoch, date in conversions:
        events[user, brand].append((epoch, 1, ctype, None, date))
    journeys = []
    for stream in events.values():
        stream.sort(key=lambda e: (e[0], e[1], e[2]))
        for ctype in TYPES:
            pending: list[tuple[float, str]] = []

            def close_unconverted(pending=pending, ctype=ctype):
                end = pending[-1][0]
                window = [c for t, c in pending if t >= end - LOOKBACK]
                journeys.append((business_date(end + LOOKBACK), ctype, window, False))

            for epoch, is_conversion, key, channel, date in stream:
                if is_conversion and key != ctype:
                    continue
                if pending and epoch - pending[-1][0] > LOOKBACK:
                    close_unconverted(pending)
                    pending = []
                if is_conversion:
                    window = [c for t, c in pending if t >= epoch - LOOKBACK]
                    if window:
                        journeys.append((date, ctype, window, True))
                    pending = []
                else:
                    pending.append((epoch, channel))
            if pending:
                close_unconverted(pending)
    return [j for j in journeys if j[0] <= last_delivery]


def channel_set(channels) -> int:
    return sum(2 ** CHANNELS.index(c) for c in set(channels))


def transition_counts(journeys) -> Counter:
    counts = Counter()
    for date, ctype, channels, converted in journeys:
        states = ["(start)", *channels, "(conversion)" if converted else "(null)"]
        for a, b in zip(states, states[1:]):
            counts[date, ctype, channel_set(channels), a, b] += 1
    return counts


def training_journeys(journeys, date: dt.date, ctype: str) -> list[tuple]:
    first = date - dt.timedelta(days=TRAINING_DAYS - 1)
    return [j for j in journeys if j[1] == ctype and first <= j[0] <= date]


def removal_effects(journeys) -> dict[str, tuple[float, float, float]]:
    """channel -> (P(conversion from it), P(conversion), removal effect), by numpy's solver."""
    k = len(CHANNELS)
    counts = np.zeros((k + 1, k + 2))  # rows: start, channels; columns: channels, conversion, null
    for _, _, channels, converted in journeys:
        states = [0, *[1 + CHANNELS.index(c) for c in channels]]
        for a, b in zip(states, states[1:]):
            counts[a, b - 1] += 1
        counts[states[-1], k if converted else k + 1] += 1
    totals = counts.sum(axis=1, keepdims=True)
    p = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    start, q, r = p[0, :k], p[1:, :k], p[1:, k]

    def conversion(removed: int | None):
        q2, r2 = q.copy(), r.copy()
        if removed is not None:
            q2[:, removed] = 0  # transitions into the removed channel go to (null)
            q2[removed, :], r2[removed] = 0, 0
        x = np.linalg.solve(np.eye(k) - q2, r2)
        return x, float(start @ x)

    x, total = conversion(None)
    out = {}
    for i, c in enumerate(CHANNELS):
        without = conversion(i)[1]
        effect = min(1.0, max(0.0, 1 - without / total)) if total > 0 else 0.0
        out[c] = (float(x[i]), total, effect)
    return out


def shapley_values(journeys) -> dict[str, float]:
    """Average marginal contribution over all orders of the channels; v(S) is the conversion
    rate of the journeys within S, 0 below MIN_JOURNEYS journeys."""
    sets = Counter()
    converted = Counter()
    for _, _, channels, conv in journeys:
        sets[frozenset(channels)] += 1
        converted[frozenset(channels)] += conv

    def worth(coalition: frozenset) -> float:
        n = sum(v for s, v in sets.items() if s <= coalition)
        return sum(v for s, v in converted.items() if s <= coalition) / n if n >= MIN_JOURNEYS and n > 0 else 0.0

    values = dict.fromkeys(CHANNELS, 0.0)
    orders = list(itertools.permutations(CHANNELS))
    cache: dict[frozenset, float] = {}
    for order in orders:
        coalition = frozenset()
        for c in order:
            bigger = coalition | {c}
            for s in (coalition, bigger):
                if s not in cache:
                    cache[s] = worth(s)
            values[c] += (cache[bigger] - cache[coalition]) / len(orders)
            coalition = bigger
    return values


def split_credit(path_channels: list[str | None], weights: dict[str, float]) -> list[float]:
    """A path's credits: to its distinct channels by weight (equally when none is positive), then
    equally to each channel's touches."""
    per_channel = Counter(path_channels)
    w = {c: max(weights.get(c, 0.0), 0.0) for c in per_channel}
    total = sum(w.values())
    share = {c: (w[c] / total if total > 0 else 1 / len(per_channel)) for c in per_channel}
    return [share[c] / per_channel[c] for c in path_channels]


# --- synthetic journeys through the compiled SQL ----------------------------------------------------


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """The five models' SQL as dbt compiles it (first build), every synthetic user training the
    chain (the sample is checked end to end on the warehouse), and a scratch warehouse."""
    home = tmp_path_factory.mktemp("data_driven")
    project = compile_project(home / "dbt", dbt_vars="{data_driven_user_sample: 1}")
    return CompiledProject.scratch(home), {m: project.sql(m) for m in MODELS}


def synthetic_world(seed: int, days: int = 60, users: int = 500, brands: int = 3):
    """Touches and conversions of every type for users x brands over `days` Shanghai days.
    Conversions follow touches with probabilities by channel and type (so channels differ in
    worth), some at the touch's very second; some conversions have no touch at all."""
    rng = np.random.default_rng(seed)
    first_day = dt.date(2024, 7, 1)
    t0 = int(dt.datetime(2024, 7, 1, tzinfo=SHANGHAI).timestamp())
    kinds = [("view", None), ("engagement", None), ("click", "note"), ("click", "comment")]
    convert_p = {  # per touch of the channel, the chance of a conversion of each type to follow
        "view": [0.05, 0.02, 0.01, 0.004],
        "engagement": [0.12, 0.05, 0.03, 0.01],
        "click_note": [0.05, 0.5, 0.15, 0.08],
        "click_comment": [0.05, 0.35, 0.1, 0.05],
    }
    touches, conversions = [], []
    for user in range(users):
        for brand in range(brands):
            if rng.random() < 0.4:
                continue
            n = rng.poisson(6) + 1
            clustered = t0 + rng.uniform(0, days * 86400) + np.cumsum(rng.exponential(3 * 86400, n))
            times = np.sort(np.where(rng.random(n) < 0.3, t0 + rng.uniform(0, days * 86400, n), clustered)).astype(int)
            for i, t in enumerate(times):
                kind, surface = kinds[rng.choice(4, p=[0.6, 0.25, 0.1, 0.05])]
                channel = channel_of(kind, surface)
                touches.append((user, brand, int(t), f"e{user}-{brand}-{i}", kind, surface, channel))
                for j, ctype in enumerate(TYPES):
                    if rng.random() < convert_p[channel][j]:
                        at = int(t) + (
                            0 if rng.random() < 0.1 else int(rng.exponential(4 * 86400))
                        )  # some at the same second
                        conversions.append((user, brand, ctype, at))
            if rng.random() < 0.1:  # organic: no touch before it
                conversions.append((user, brand, "search", int(t0 + rng.uniform(0, days * 86400))))
    last_delivery = first_day + dt.timedelta(days=days - 1)
    end = int(dt.datetime.combine(last_delivery + dt.timedelta(days=1), dt.time(), SHANGHAI).timestamp())
    touches = [t for t in touches if t[2] < end]
    conversions = [(u, b, c, t, business_date(t)) for u, b, c, t in conversions if t < end]
    return touches, conversions, last_delivery


def run_sql(compiled, touches, conversions, last_delivery) -> duckdb.DuckDBPyConnection:
    path, sql = compiled
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE SCHEMA intermediate")
    # registered by name: the SQL below reads them as tables
    touchpoints = pd.DataFrame(
        [
            (e, u, f"n{b}", k, s, "taobao" if k == "click" else None, float(t), business_date(t))
            for u, b, t, e, k, s, _ in touches
        ],
        columns=[
            "event_id",
            "user_hash",
            "note_id",
            "touch_kind",
            "link_surface",
            "link_partner",
            "touch_epoch",
            "event_date",
        ],
    )
    callbacks = pd.DataFrame(
        [(f"c{i}", u, f"b{b}", c, float(t), d) for i, (u, b, c, t, d) in enumerate(conversions)],
        columns=["conversion_id", "user_hash", "brand_id", "conversion_type", "conversion_epoch", "conversion_date"],
    )
    con.register("touchpoints", touchpoints)
    con.register("callbacks", callbacks)
    con.execute(
        "CREATE TABLE intermediate.int_brand_touchpoints AS SELECT * REPLACE (event_date::DATE AS event_date), "
        "'b' || substr(note_id, 2) AS brand_id FROM touchpoints"
    )
    con.execute(
        "CREATE TABLE intermediate.int_conversions AS "
        "SELECT * REPLACE (conversion_date::DATE AS conversion_date), true AS is_conversion FROM callbacks"
    )
    con.execute(
        "CREATE TABLE intermediate.int_reprocessing_dates AS SELECT ?::DATE AS report_date, true AS reattribute, "
        "?::DATE AS last_delivery_date",
        [last_delivery, last_delivery],
    )
    for model in MODELS:  # in dependency order
        con.execute(f"CREATE TABLE intermediate.{model} AS {sql[model]}")
    return con


def reference_tables(touches, conversions, last_delivery):
    journeys = build_journeys([(u, b, t, e, c) for u, b, t, e, _, _, c in touches], conversions, last_delivery)
    dates = sorted({(d, c) for _, _, c, _, d in conversions})
    return journeys, dates


def compare(con, journeys, dates, schema="intermediate"):
    """Journey counts exactly; removal effects and Shapley values within TOLERANCE."""
    sql_counts = {
        tuple(r[:5]): r[5]
        for r in con.execute(
            f"SELECT journey_date, conversion_type, channel_set, from_state, to_state, n_transitions "
            f"FROM {schema}.int_attribution_journey_transitions"
        ).fetchall()
    }
    assert sql_counts == dict(transition_counts(journeys))
    effects = {
        (d, t, c): (x, p, e)
        for d, t, c, x, p, e in con.execute(
            f"SELECT conversion_date, conversion_type, channel, conversion_probability_from_channel, "
            f"conversion_probability, removal_effect FROM {schema}.int_attribution_removal_effects"
        ).fetchall()
    }
    shapley = {
        (d, t, c): v
        for d, t, c, v in con.execute(
            f"SELECT conversion_date, conversion_type, channel, shapley_value FROM {schema}.int_attribution_shapley_values"
        ).fetchall()
    }
    checked = 0
    for date, ctype in dates:
        window = training_journeys(journeys, date, ctype)
        if window:
            for c, expected in removal_effects(window).items():
                assert effects[date, ctype, c] == pytest.approx(expected, abs=TOLERANCE), (date, ctype, c)
                checked += 1
        else:
            assert not any(k[:2] == (date, ctype) for k in effects), (date, ctype)
        for c, expected in shapley_values(window).items():
            assert shapley[date, ctype, c] == pytest.approx(expected, abs=TOLERANCE), (date, ctype, c)
    assert len(shapley) == len(dates) * len(CHANNELS)
    return checked


@pytest.mark.parametrize("seed", [1, 2])
def test_sql_agrees_with_the_reference_on_synthetic_journeys(compiled, seed):
    touches, conversions, last_delivery = synthetic_world(seed)
    journeys, dates = reference_tables(touches, conversions, last_delivery)
    assert sum(not j[3] for j in journeys) > 500 and sum(j[3] for j in journeys) > 500  # both outcomes
    con = run_sql(compiled, touches, conversions, last_delivery)
    try:
        checked = compare(con, journeys, dates)
    finally:
        con.close()
    assert checked > 500  # (date, type, channel) removal effects compared


def test_removal_effects_are_solved_exactly_where_iteration_would_crawl(compiled):
    """A chain whose view state keeps returning to itself (P(view -> view) = 0.999): the exact
    solve does not care, where 200 rounds of x <- r + Q x from x = 0 would still lack 82 % of x_view."""
    journeys = [(dt.date(2024, 7, 1), "purchase", ["view"] * 1000 + ["click_note"], True)] + [
        (dt.date(2024, 7, 1), "purchase", ["view"] * 1000, False)
    ]
    ref = removal_effects(journeys)
    assert ref["view"][2] == pytest.approx(1.0) and ref["click_note"][2] == pytest.approx(1.0)
    _, sql = compiled
    con = duckdb.connect()
    try:
        con.execute("CREATE SCHEMA intermediate")
        counts = transition_counts(journeys)
        con.execute(
            "CREATE TABLE intermediate.int_attribution_markov_chain AS SELECT * FROM (VALUES "
            + ", ".join(
                f"(DATE '2024-07-01', 'purchase', '{a}', '{b}', {n}, "
                f"{n} / {sum(m for k, m in counts.items() if k[3] == a)}.0)"
                for (_, _, _, a, b), n in counts.items()
            )
            + ") AS t(conversion_date, conversion_type, from_state, to_state, n_transitions, transition_probability)"
        )
        got = {
            c: (x, p, e)
            for c, x, p, e in con.execute(
                "SELECT channel, conversion_probability_from_channel, conversion_probability, removal_effect FROM ("
                + sql["int_attribution_removal_effects"].replace('"warehouse".', "")
                + ")"
            ).fetchall()
        }
    finally:
        con.close()
    for c in CHANNELS:
        assert got[c] == pytest.approx(ref[c], abs=TOLERANCE), c
    exits = sum(n for k, n in counts.items() if k[3] == "view")
    stay = sum(n for k, n in counts.items() if k[3:] == ("view", "view")) / exits
    assert stay == pytest.approx(0.999) and ref["view"][0] == pytest.approx(0.5)
    assert stay**200 > 0.8  # the share of x_view that 200 rounds of iteration would still lack


# --- the warehouse built from generated data ---------------------------------------------------------


def test_warehouse_agrees_with_the_reference_end_to_end(clean_built):
    settings, _ = clean_built
    with connect(settings) as con:

        def in_sample(key):
            return int(key[-2:], 16) < USER_SAMPLE * 256  # the training sample, by user key

        touches = [
            r[1:]
            for r in con.execute(
                """SELECT t.user_key, t.user_hash, n.brand_id, t.touch_epoch, t.event_id, t.touch_kind, t.link_surface
               FROM intermediate.int_touchpoints t JOIN intermediate.int_notes n USING (note_id)"""
            ).fetchall()
            if in_sample(r[0])
        ]
        all_conversions = con.execute(
            """SELECT user_key, user_hash, brand_id, conversion_type, conversion_epoch, conversion_date
               FROM intermediate.int_conversions WHERE conversion_type <> 'refund'"""
        ).fetchall()
        conversions = [r[1:] for r in all_conversions if in_sample(r[0])]
        last_delivery = con.execute(
            "SELECT max(last_delivery_date) FROM intermediate.int_reprocessing_dates"
        ).fetchone()[0]
        journeys = build_journeys(
            [(u, b, t, e, channel_of(k, s)) for u, b, t, e, k, s in touches], conversions, last_delivery
        )
        dates = sorted({(d, c) for *_, c, _, d in all_conversions})  # every conversion date gets weights
        assert compare(con, journeys, dates) > 100

        # credits: the reference split of each conversion's eligible path by its date's weights
        weights = defaultdict(dict)
        for d, t, c, re_, sv in con.execute(
            """SELECT r.conversion_date, r.conversion_type, r.channel, r.removal_effect, s.shapley_value
                   FROM intermediate.int_attribution_removal_effects r
                   JOIN intermediate.int_attribution_shapley_values s USING (conversion_date, conversion_type, channel)"""
        ).fetchall():
            weights["markov", d, t][c] = re_
            weights["shapley", d, t][c] = sv
        paths = defaultdict(list)
        for cid, d, t, event_id, kind, surface in con.execute(
            """SELECT p.conversion_id, p.conversion_date, c.conversion_type, p.touch_event_id, p.touch_kind, p.link_surface
                   FROM intermediate.int_attribution_paths p JOIN intermediate.int_conversions c USING (conversion_id)
                   ORDER BY p.conversion_id, p.touch_rank"""
        ).fetchall():
            paths[cid, d, t].append((event_id, channel_of(kind, surface)))
        fct = {
            (cid, m, e): credit
            for cid, m, e, credit in con.execute(
                """SELECT conversion_id, attribution_model, touch_event_id, credit FROM marts.fct_attribution
               WHERE attribution_model IN ('markov', 'shapley') AND conversion_type <> 'refund'"""
            ).fetchall()
        }
        unattributed = con.execute(
            """SELECT count(*) FROM intermediate.int_conversions WHERE conversion_type <> 'refund'
               AND conversion_id NOT IN (SELECT conversion_id FROM intermediate.int_attribution_paths)"""
        ).fetchone()[0]
    expected = {}
    for (cid, d, t), touches_ in paths.items():
        for model in ("markov", "shapley"):
            credits = split_credit([c for _, c in touches_], weights.get((model, d, t), {}))
            expected.update({(cid, model, e): credit for (e, _), credit in zip(touches_, credits)})
    assert len(expected) > 10_000
    assert {k: v for k, v in fct.items() if k[2] is not None}.keys() == expected.keys()
    worst = max(abs(fct[k] - v) for k, v in expected.items())
    assert worst < TOLERANCE, worst
    assert [v for k, v in fct.items() if k[2] is None] == [1.0] * (2 * unattributed)


def test_data_driven_models_differ_from_the_rules_and_from_each_other(clean_built):
    """Reconciliation per model is in test_marts (MODELS includes markov and shapley)."""
    settings, _ = clean_built
    with connect(settings) as con:
        differing = dict(
            con.execute(
                """SELECT r.attribution_model, count(*) FILTER (WHERE abs(r.credit - d.credit) > 0.01) / count(*)
               FROM marts.fct_attribution d JOIN marts.fct_attribution r USING (conversion_id, touch_event_id)
               WHERE d.attribution_model = 'markov' AND r.attribution_model <> 'markov'
                 AND d.note_id IS NOT NULL AND d.is_click_through
               GROUP BY 1"""
            ).fetchall()
        )
    assert set(differing) == {"first_touch", "last_touch", "linear", "time_decay", "position_based", "shapley"}
    assert all(share > 0.1 for share in differing.values()), differing
