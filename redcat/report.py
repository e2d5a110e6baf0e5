"""`redcat report`: a static HTML report for brand managers, read from the serving file.

It reads what BI reads (the `bi` schema of the published serving file: rows behind fewer than
50 users are withheld) and embeds plotly.js, so the single file works offline.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

import duckdb
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from redcat.completeness import dbt_vars

COLORS = {"observed": "#7f8c8d", "estimated": "#c0392b", "expected": "#2c3e50", "ok": "#27ae60", "warn": "#f39c12",
          "fail": "#c0392b", "insufficient_data": "#95a5a6", "no_delivery": "#8e44ad"}
LAYOUT = dict(template="plotly_white", height=420, margin=dict(l=60, r=30, t=60, b=50), font=dict(size=13))


class ReportProblem(Exception):
    pass


def write_report(serving: Path, out: Path, partner: str = "taobao", model: str = "linear") -> Path:
    if not serving.exists():
        raise ReportProblem(f"no serving file at {serving}: run `redcat run` first (it publishes one after a successful run)")
    con = duckdb.connect(str(serving), read_only=True)
    try:
        data = _read(con, partner, model)
    finally:
        con.close()
    sections = [
        ("Return on ad spend by attribution model", _roas(data), _roas_note()),
        (f"Funnel with {partner}", _funnel(data, partner),
         "Distinct users per day, summed over the period (user-days); partner stages are corrected for sampling. "
         f"Besides reading, {data['funnel'][0][5] or 0:,.0f} user-days engaged with the notes and "
         f"{data['funnel'][0][6] or 0:,.0f} clicked a {partner} link from a note or its comments."),
        (f"GMV with {partner}: observed and estimated", _gmv(data, partner),
         "Observed GMV is what the partner called back; the estimate corrects for per-user sampling "
         "(weight 1 / ratio), with 95 % error bars (1.96 standard errors). Under 50 % sampling the observed bars are "
         "about half of the estimate; from 2024-07-01 (programme v3) they coincide."),
        ("Callback coverage", _coverage(data),
         "Share of users who clicked a partner link with a store-visit callback, with its 99.9 % interval, against "
         "the expected sampling ratio x landing rate. Crosses mark partner-days whose check failed when first "
         "evaluated (kept in the history even after a re-delivery cleared them)."),
        (f"Top notes ({model})", _top(data["notes"], "note"), None),
        (f"Top creators ({model})", _top(data["creators"], "creator"), None),
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(_page(data, sections, partner, model), encoding="utf-8")
    return out


def _read(con, partner: str, model: str) -> dict:
    q = lambda sql, *p: con.execute(sql, list(p)).fetchall()
    return {
        "publication": q("SELECT id, published_at FROM _redcat.publication")[0],
        "span": q("SELECT min(report_date), max(report_date) FROM bi.mart_callback_completeness")[0],
        "roas": q("""SELECT attribution_model, sum(spend_total_cny), sum(gmv_attributed_boosted_estimated),
                            sum(gmv_attributed_estimated) FROM bi.mart_brand_roi_daily GROUP BY 1 ORDER BY 1"""),
        "funnel": q("""SELECT sum(readers), sum(searchers_estimated), sum(visitors_estimated), sum(carters_estimated),
                              sum(purchasers_estimated), sum(engagers), sum(clickers)
                       FROM bi.mart_funnel_daily WHERE partner = ?""", partner),
        "gmv": q("""SELECT report_date, any_value(sampling_ratio), sum(gmv_observed), sum(gmv_estimated),
                           sqrt(sum(gmv_estimated_se * gmv_estimated_se))
                    FROM bi.mart_brand_daily WHERE partner = ? AND attribution_model = ? GROUP BY 1 ORDER BY 1""",
                 partner, model),
        "coverage": q("""SELECT partner, report_date, observed_coverage, ci_low, ci_high, expected_coverage, status, is_accepted
                         FROM bi.mart_callback_completeness ORDER BY partner, report_date"""),
        "incidents": q("""SELECT partner, report_date, min(evaluated_at), arg_min(observed_coverage, evaluated_at)
                          FROM bi.completeness_history WHERE status IN ('fail', 'no_delivery') GROUP BY 1, 2 ORDER BY 1, 2"""),
        "notes": q("""SELECT note_id, any_value(brand_id), any_value(creator_id), any_value(category), sum(gmv_estimated),
                             sum(purchases), sum(reads) FROM bi.mart_note_daily WHERE attribution_model = ?
                      GROUP BY 1 ORDER BY 5 DESC LIMIT 15""", model),
        "creators": q("""SELECT creator_id, count(DISTINCT brand_id), count(DISTINCT note_id), sum(gmv_estimated),
                                sum(purchases), sum(reads) FROM bi.mart_note_daily WHERE attribution_model = ?
                         GROUP BY 1 ORDER BY 4 DESC LIMIT 15""", model),
        "suppression": q("""SELECT sum(rows_suppressed), sum(rows_total) FROM bi.suppression_summary"""),
    }


def _roas(data) -> go.Figure:
    models = [r[0] for r in data["roas"]]
    boosted = [r[2] / r[1] if r[1] else None for r in data["roas"]]
    brand = [r[3] / r[1] if r[1] else None for r in data["roas"]]
    fig = go.Figure([
        go.Bar(name="ROAS of boosted notes", x=models, y=boosted, marker_color=COLORS["estimated"],
               text=[f"{v:.2f}" if v is not None else "" for v in boosted], textposition="outside"),
        go.Bar(name="ROAS of the brand (all notes)", x=models, y=brand, marker_color=COLORS["observed"]),
    ])
    fig.update_layout(title="Estimated GMV per CNY of ad spend", barmode="group", yaxis_title="ROAS", **LAYOUT)
    return fig


def _roas_note() -> str:
    return ("ROAS of the brand divides all GMV attributed to the brand's notes by its spend: every rule-based model "
            "splits a conversion among the same brand's notes, so it is the same for all of them. ROAS of boosted "
            "notes counts only GMV credited to touches on notes that had spend that day: where the models differ.")


def _funnel(data, partner) -> go.Figure:
    stages = ["read the brand's notes", f"searched the brand on {partner} (est.)", "visited the store (est.)",
              "added to cart (est.)", "purchased (est.)"]
    values = [float(v or 0) for v in data["funnel"][0][:5]]
    fig = go.Figure(go.Funnel(y=stages, x=values, textinfo="value+percent initial", marker_color=COLORS["estimated"]))
    fig.update_layout(title="User-days at each stage", **LAYOUT)
    return fig


def _gmv(data, partner) -> go.Figure:
    days = [r[0] for r in data["gmv"]]
    fig = go.Figure([
        go.Bar(name="observed (called back)", x=days, y=[r[2] for r in data["gmv"]], marker_color=COLORS["observed"]),
        go.Scatter(name="estimated ± 1.96 SE", x=days, y=[r[3] for r in data["gmv"]], mode="markers+lines",
                   marker_color=COLORS["estimated"],
                   error_y=dict(type="data", array=[1.96 * r[4] for r in data["gmv"]], visible=True)),
    ])
    switches = [days[i] for i in range(1, len(days)) if data["gmv"][i][1] != data["gmv"][i - 1][1]]
    for day in switches:
        ratio = next(r[1] for r in data["gmv"] if r[0] == day)
        fig.add_vline(x=dt.datetime.combine(day, dt.time()).timestamp() * 1000, line_dash="dash",
                      annotation_text=f"sampling {ratio:.0%}", annotation_position="top left")
    fig.update_layout(title=f"Daily GMV with {partner}, all brands (CNY)", yaxis_title="CNY", **LAYOUT)
    return fig


def _coverage(data) -> go.Figure:
    fig = go.Figure()
    partners = sorted({r[0] for r in data["coverage"]})
    for p in partners:
        rows = [r for r in data["coverage"] if r[0] == p]
        days = [r[1] for r in rows]
        fig.add_trace(go.Scatter(name=f"{p}: expected", x=days, y=[r[5] for r in rows], mode="lines",
                                 line=dict(color=COLORS["expected"], dash="dot")))
        fig.add_trace(go.Scatter(
            name=f"{p}: observed", x=days, y=[r[2] for r in rows], mode="markers+lines",
            marker=dict(color=[COLORS.get(r[6], "#000") for r in rows], size=9),
            error_y=dict(type="data", symmetric=False, array=[(r[4] or 0) - (r[2] or 0) for r in rows],
                         arrayminus=[(r[2] or 0) - (r[3] or 0) for r in rows]),
            text=[f"{r[6]}{' (accepted)' if r[7] else ''}" for r in rows], hovertemplate="%{x}: %{y:.1%} %{text}"))
    incidents = data["incidents"]
    if incidents:
        fig.add_trace(go.Scatter(name="failed when first evaluated", x=[r[1] for r in incidents], y=[r[3] for r in incidents],
                                 mode="markers", marker=dict(symbol="x", size=14, color=COLORS["fail"]),
                                 text=[f"{r[0]}: first evaluated {r[2]:%Y-%m-%d %H:%M} UTC" for r in incidents],
                                 hovertemplate="%{x}: %{y:.1%} %{text}"))
    fig.update_layout(title="Users with a store-visit callback among users who clicked", yaxis_tickformat=".0%",
                      yaxis_range=[0, 1.05], **LAYOUT)
    return fig


def _top(rows, kind: str) -> str:
    if kind == "note":
        head = ["note", "brand", "creator", "category", "GMV est. (CNY)", "purchases", "reads"]
        body = [[r[0], r[1], r[2], r[3], f"{r[4]:,.0f}", f"{r[5]:,.1f}", f"{int(r[6]):,}"] for r in rows]
    else:
        head = ["creator", "brands", "notes", "GMV est. (CNY)", "purchases", "reads"]
        body = [[r[0], r[1], r[2], f"{r[3]:,.0f}", f"{r[4]:,.1f}", f"{int(r[5]):,}"] for r in rows]
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{''.join(f'<th>{h}</th>' for h in head)}</tr></thead><tbody>{cells}</tbody></table>"


def _page(data, sections, partner, model) -> str:
    pub_id, published = data["publication"]
    start, end = data["span"]
    suppressed, total = data["suppression"][0]
    parts = []
    for i, (title, body, note) in enumerate(sections):
        content = body if isinstance(body, str) else body.to_html(full_html=False, include_plotlyjs=False,
                                                                  div_id=f"chart-{i}", config={"displaylogo": False})
        parts.append(f"<section><h2>{html.escape(title)}</h2>{content}"
                     + (f"<p class='note'>{html.escape(note)}</p>" if note else "") + "</section>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>redcat report {start} to {end}</title>
<script type="text/javascript">{get_plotlyjs()}</script>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #2c3e50; }}
h1 {{ margin-bottom: 0.2em; }} .meta {{ color: #7f8c8d; }}
section {{ margin: 2.5em 0; }} .note {{ color: #555; font-size: 0.95em; max-width: 900px; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.92em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
</style></head><body>
<h1>Seeding to sale: {start} to {end}</h1>
<p class="meta">Publication {html.escape(pub_id)} ({html.escape(published)}). Attribution model for note and creator
figures: {html.escape(model)}; lookback {dbt_vars()['lookback_days']} days. Rows behind fewer than
{dbt_vars()['min_audience']} users are withheld ({int(suppressed or 0):,} of {int(total or 0):,} mart rows).</p>
{''.join(parts)}
</body></html>"""
