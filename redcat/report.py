"""`redcat report`: one self-contained HTML page per brand, for that brand's manager.

It reads only the `bi` schema of the published serving file (rows behind fewer than 50 users are
withheld there) and every query is filtered on the one brand: the page never holds another brand's
id, name or figures. Text and number formats follow the language (zh default, en); the page is a
Jinja2 template (redcat/templates/report.html.j2), the charts are Plotly with plotly.js inlined
once, so the file works offline. Chinese renders with the system font families in FONT_FAMILIES.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, select_autoescape
from plotly.offline import get_plotlyjs

from redcat.completeness import dbt_vars

LANGS = ("zh", "en")
MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley")
# Chinese-capable families first (Linux Noto/Source Han/WenQuanYi, macOS, Windows), then generic.
FONT_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Microsoft YaHei",
    "sans-serif",
)
FONT_STACK = ", ".join(f'"{f}"' if " " in f else f for f in FONT_FAMILIES)
COLORS = {"observed": "#7f8c8d", "estimated": "#c0392b", "brand": "#2c3e50", "partner": "#e67e22"}
PARTNER_COLORS = ("#c0392b", "#2980b9", "#27ae60", "#8e44ad")
CHART_IDS = ("chart-gmv", "chart-roas-funding", "chart-models", "chart-funnel")


class ReportProblem(Exception):
    pass


# --- the interval of estimated GMV: the one place it is read --------------------------------
def gmv_interval_sql() -> str:
    """SQL for the 95 % interval of a bi.mart_brand_daily row's estimated GMV, as ci_low, ci_high: the
    mart's own bounds (docs/estimation.md), never +-1.96 SE."""
    return "gmv_estimated_ci_low AS ci_low, gmv_estimated_ci_high AS ci_high"


# --- formats ---------------------------------------------------------------------------------
def fmt_money(value: float | None, lang: str) -> str:
    """¥ with 万/亿 in Chinese (¥8,765, ¥1.2万, ¥3.45亿), ¥ with thousands separators or k/M in English."""
    if value is None:
        return "–"
    v = float(value)
    sign, a = ("-" if v < 0 else ""), abs(v)
    if lang == "zh":
        if a >= 1e8:
            return f"{sign}¥{_trim(a / 1e8, 2)}亿"
        if a >= 1e4:
            return f"{sign}¥{_trim(a / 1e4, 1 if a >= 1e5 else 2)}万"
        return f"{sign}¥{a:,.0f}"
    if a >= 1e6:
        return f"{sign}¥{_trim(a / 1e6, 2)} M"
    return f"{sign}¥{a:,.0f}"


def _trim(x: float, decimals: int) -> str:
    return f"{x:,.{decimals}f}".rstrip("0").rstrip(".")


def fmt_pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * float(value):.1f}%"


def fmt_int(value: float | None, lang: str) -> str:
    if value is None:
        return "–"
    v = float(value)
    if lang == "zh" and abs(v) >= 1e4:
        return f"{_trim(v / 1e4, 1)}万"
    return f"{v:,.0f}"


def fmt_num(value: float | None, decimals: int = 1) -> str:
    return "–" if value is None else f"{float(value):,.{decimals}f}"


def fmt_ratio(value: float | None) -> str:
    return "–" if value is None else f"{float(value):.2f}"


def fmt_date(day: dt.date, lang: str) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if lang == "zh" else f"{day.day} {day:%b} {day.year}"


def money_axis(max_value: float, lang: str, ticks: int = 5) -> dict:
    """Plotly y-axis ticks labelled like fmt_money (Plotly itself knows no 万/亿)."""
    if not max_value or max_value <= 0:
        return {}
    raw = max_value / ticks
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    values = [i * step for i in range(int(max_value / step) + 2)]
    return dict(tickmode="array", tickvals=values, ticktext=[fmt_money(v, lang) for v in values])


# --- text ------------------------------------------------------------------------------------
TEXT = {
    "zh": {
        "title": "{brand}：种草到成交报告",
        "period": "{start}至{end}",
        "gmv_h": "每日预估GMV",
        "gmv_n": "预估GMV按抽样比例修正回传（权重 = 1 / 抽样比例），阴影为95%区间；柱为合作方实际回传的GMV。虚线标出回传抽样方案的变化（来自回传政策数据）。",
        "observed": "实际回传",
        "estimated": "预估",
        "interval": "95%区间",
        "sampling_change": "{programme} {version}：抽样{ratio}",
        "roas_h": "按资金来源的投放回报（ROAS）",
        "roas_n": "品牌自投与合作方加热分开计算：加热笔记在投放当天被触达后产生的预估GMV，按该笔记当天各资金来源的花费比例分摊，除以该来源的花费。品牌自投花费含未绑定笔记的品牌级投放。",
        "brand_funded": "品牌自投",
        "partner_funded": "合作方加热",
        "spend": "花费",
        "models_h": "各归因模型下的笔记GMV",
        "models_n": "同一笔成交在不同模型下分给品牌各笔记的份额不同，因此按笔记比较；品牌合计在各模型下相同。",
        "models_same": "在本期间内各模型给出的笔记GMV几乎相同（差异小于1%）。",
        "funnel_h": "嵌套转化漏斗",
        "funnel_n": "每天读过品牌笔记的用户为一组，跟踪其后{lookback}天：点击链接、进店、加购、购买，每一步都是上一步用户的子集（人次按阅读日累计）。合作方环节按抽样修正。",
        "stages": ["阅读", "点击链接", "进店", "加购", "购买"],
        "view_through": "未点击链接但进店的读者（浏览转化）：{visitors}人次，其中购买{buyers}人次。",
        "notes_h": "GMV最高的笔记",
        "creators_h": "GMV最高的创作者",
        "credit_n": "按{model}归因：一次购买若在{lookback}天内触达了多篇笔记，按模型把这次购买和其GMV分摊到这些笔记，因此“归因购买”可以是小数。",
        "col_note": "笔记",
        "col_creator": "创作者",
        "col_category": "品类",
        "col_gmv": "预估GMV",
        "col_purchases": "归因购买",
        "col_reads": "阅读",
        "col_notes": "笔记数",
        "quality_h": "数据质量",
        "quality": "回传完整性：{coverage}。{suppressed}{provisional}",
        "cov_ok": "{partner}全部{days}天通过检查",
        "cov_issue": "{partner}{days}天中{bad}天未通过（{accepted}天经确认后发布）",
        "suppressed": "少于{min_audience}位用户的日子不展示（本期{hidden}天未展示）。",
        "suppressed_none": "本期没有因用户数过少而隐去的数据。",
        "provisional": "最近{n}天为暂定数据：{lookback}天归因窗口尚未结束，迟到的回传仍可能改变它们。",
        "no_data": "本期没有可展示的数据。",
        "model_names": {
            "first_touch": "首次触点",
            "last_touch": "末次触点",
            "linear": "线性",
            "time_decay": "时间衰减",
            "position_based": "位置加权",
            "markov": "马尔可夫",
            "shapley": "Shapley值",
        },
        "footer": "数据来自发布 {pub}（{published}）的BI数据，仅含本品牌。",
    },
    "en": {
        "title": "{brand}: seeding to sale",
        "period": "{start} to {end}",
        "gmv_h": "Estimated GMV per day",
        "gmv_n": "Estimated GMV corrects the partner's callbacks for sampling (weight 1 / sampling ratio); the band is its 95 % interval, the bars are the GMV the partner called back. Dashed lines mark changes of the callback sampling programme (from the policy data).",
        "observed": "called back",
        "estimated": "estimated",
        "interval": "95 % interval",
        "sampling_change": "{programme} {version}: sampling {ratio}",
        "roas_h": "Return on ad spend by funding source",
        "roas_n": "Brand spend and partner-funded boost apart: GMV credited to touches on boosted notes on the day of their spend, split in proportion to that note's spend by funding source, over that source's spend. Brand spend includes brand-level spend tied to no note.",
        "brand_funded": "brand spend",
        "partner_funded": "partner-funded boost",
        "spend": "spend",
        "models_h": "Notes' GMV by attribution model",
        "models_n": "Models split a purchase differently among the brand's notes, so they are compared per note; the brand total is the same under every model.",
        "models_same": "In this period the models give almost the same GMV per note (less than 1 % apart).",
        "funnel_h": "Nested funnel",
        "funnel_n": "Users who read the brand's notes on a day, followed for {lookback} days: clicked a link, visited the store, added to cart, bought; each stage a subset of the previous one (user-days, summed over read dates). Partner stages are corrected for sampling.",
        "stages": ["read", "clicked a link", "visited the store", "added to cart", "bought"],
        "view_through": "Readers who visited without clicking a link (view-through): {visitors} user-days, {buyers} of whom bought.",
        "notes_h": "Top notes by GMV",
        "creators_h": "Top creators by GMV",
        "credit_n": "Attribution model {model}: a purchase whose buyer saw several of the brand's notes in the {lookback} days before is split among them, so credited purchases can be fractional.",
        "col_note": "note",
        "col_creator": "creator",
        "col_category": "category",
        "col_gmv": "GMV (est.)",
        "col_purchases": "credited purchases",
        "col_reads": "reads",
        "col_notes": "notes",
        "quality_h": "Data quality",
        "quality": "Callback completeness: {coverage}. {suppressed}{provisional}",
        "cov_ok": "{partner} passed on all {days} days",
        "cov_issue": "{partner} failed on {bad} of {days} days ({accepted} accepted and published)",
        "suppressed": "Days with fewer than {min_audience} users are not shown ({hidden} days in this period). ",
        "suppressed_none": "Nothing in this period is withheld for too few users. ",
        "provisional": "The last {n} days are provisional: their {lookback}-day attribution window is still open.",
        "no_data": "No data to show for this period.",
        "model_names": {
            "first_touch": "first touch",
            "last_touch": "last touch",
            "linear": "linear",
            "time_decay": "time decay",
            "position_based": "position based",
            "markov": "Markov",
            "shapley": "Shapley",
        },
        "footer": "From BI publication {pub} ({published}); this brand only.",
    },
}


@dataclass
class Brand:
    brand_id: str
    name_zh: str
    name_en: str
    category_zh: str | None
    category_en: str | None

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


# --- entry points ------------------------------------------------------------------------------
def _open(serving: Path):
    if not serving.exists():
        raise ReportProblem(
            f"no serving file at {serving}: run `redcat run` first (it publishes one after a successful run)"
        )
    return duckdb.connect(str(serving), read_only=True)


def brands_with_data(serving: Path) -> list[str]:
    con = _open(serving)
    try:
        return [r[0] for r in con.execute("SELECT DISTINCT brand_id FROM bi.mart_brand_daily ORDER BY 1").fetchall()]
    finally:
        con.close()


def write_report(
    serving: Path,
    out: Path,
    brand: str,
    lang: str = "zh",
    start: dt.date | None = None,
    end: dt.date | None = None,
    model: str = "linear",
) -> Path:
    if lang not in LANGS:
        raise ReportProblem(f"unknown language {lang!r}; use one of {', '.join(LANGS)}")
    if model not in MODELS:
        raise ReportProblem(f"unknown attribution model {model!r}; use one of {', '.join(MODELS)}")
    con = _open(serving)
    try:
        page = _render(con, brand, lang, start, end, model)
    finally:
        con.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def write_all_brands(
    serving: Path,
    out_dir: Path,
    lang: str = "zh",
    start: dt.date | None = None,
    end: dt.date | None = None,
    model: str = "linear",
) -> list[Path]:
    """One file per brand with data: <out_dir>/report-<brand_id>-<lang>.html."""
    return [
        write_report(serving, out_dir / f"report-{b}-{lang}.html", b, lang, start, end, model)
        for b in brands_with_data(serving)
    ]


# --- reading (every query filtered on the brand) ------------------------------------------------
def _render(con, brand_id: str, lang: str, start, end, model: str) -> str:
    def q(sql, *p):
        return con.execute(sql, list(p)).fetchall()

    row = q(
        "SELECT brand_id, brand_name_zh, brand_name_en, category_name_zh, category_name_en FROM bi.brands "
        "WHERE brand_id = ?",
        brand_id,
    )
    if not row:
        raise ReportProblem(
            f"brand {brand_id!r} is not in the published data (bi.brands); "
            "`redcat report --all-brands` writes every brand that has data"
        )
    brand = Brand(*row[0])
    span = q("SELECT min(report_date), max(report_date) FROM bi.mart_brand_daily WHERE brand_id = ?", brand_id)[0]
    start = start or span[0]
    end = end or span[1]
    if start is None or end is None:
        raise ReportProblem(f"brand {brand_id} has no published rows in bi.mart_brand_daily (all withheld or none yet)")
    if end < start:
        raise ReportProblem(f"--to {end} is before --from {start}")
    t = TEXT[lang]
    rng = (brand_id, start, end)
    lookback, min_audience = dbt_vars()["lookback_days"], dbt_vars()["min_audience"]

    gmv = q(
        f"""SELECT report_date, partner, sum(gmv_observed), sum(gmv_estimated), sum(ci_low), sum(ci_high),
                       bool_or(is_provisional)
                FROM (SELECT *, {gmv_interval_sql()} FROM bi.mart_brand_daily
                      WHERE brand_id = ? AND report_date BETWEEN ? AND ? AND attribution_model = ?)
                GROUP BY 1, 2 ORDER BY 1, 2""",
        *rng,
        model,
    )
    programmes = q(
        """SELECT c.partner, c.report_date, c.program_version, c.sampling_ratio, p.programme_zh, p.programme
                      FROM bi.mart_callback_completeness c
                      LEFT JOIN bi.partners p ON p.partner = c.partner AND p.program_version = c.program_version
                      WHERE c.report_date BETWEEN ? AND ? ORDER BY 1, 2""",
        start - dt.timedelta(days=1),
        end,
    )
    roas = q(
        """SELECT attribution_model, sum(spend_brand_cny), sum(spend_partner_cny),
                       sum(gmv_boosted_brand_funded_estimated), sum(gmv_boosted_partner_funded_estimated)
                FROM bi.mart_brand_roi_daily WHERE brand_id = ? AND report_date BETWEEN ? AND ?
                GROUP BY 1""",
        *rng,
    )
    notes_by_model = q(
        """SELECT d.note_id, any_value(n.note_title), d.attribution_model, sum(d.gmv_estimated)
                          FROM bi.mart_note_daily d LEFT JOIN bi.notes n USING (note_id)
                          WHERE d.brand_id = ? AND d.report_date BETWEEN ? AND ? GROUP BY 1, 3""",
        *rng,
    )
    funnel = q(
        """SELECT partner, sum(readers), sum(clickers), sum(visitors_estimated), sum(carters_estimated),
                         sum(purchasers_estimated), sum(view_through_visitors_estimated),
                         sum(view_through_purchasers_estimated)
                  FROM bi.mart_funnel_nested_daily WHERE brand_id = ? AND report_date BETWEEN ? AND ?
                  GROUP BY 1 ORDER BY 3 DESC""",
        *rng,
    )
    top_notes = q(
        """SELECT d.note_id, any_value(n.note_title), any_value(n.creator_name), any_value(d.creator_id),
                            any_value(n.category_name_zh), any_value(n.category_name_en),
                            sum(d.gmv_estimated), sum(d.purchases), sum(d.reads)
                     FROM bi.mart_note_daily d LEFT JOIN bi.notes n USING (note_id)
                     WHERE d.brand_id = ? AND d.report_date BETWEEN ? AND ? AND d.attribution_model = ?
                     GROUP BY 1 ORDER BY 7 DESC, 1 LIMIT 10""",
        *rng,
        model,
    )
    top_creators = q(
        """SELECT d.creator_id, any_value(n.creator_name), count(DISTINCT d.note_id),
                               sum(d.gmv_estimated), sum(d.purchases), sum(d.reads)
                        FROM bi.mart_note_daily d LEFT JOIN bi.notes n USING (note_id)
                        WHERE d.brand_id = ? AND d.report_date BETWEEN ? AND ? AND d.attribution_model = ?
                        GROUP BY 1 ORDER BY 4 DESC, 1 LIMIT 10""",
        *rng,
        model,
    )
    coverage = q(
        """SELECT partner, count(*), count(*) FILTER (WHERE status IN ('fail', 'no_delivery')),
                           count(*) FILTER (WHERE status IN ('fail', 'no_delivery') AND is_accepted)
                    FROM bi.mart_callback_completeness WHERE report_date BETWEEN ? AND ?
                      AND partner IN (SELECT DISTINCT partner FROM bi.mart_brand_daily WHERE brand_id = ?)
                    GROUP BY 1 ORDER BY 1""",
        start,
        end,
        brand_id,
    )
    pub_id, published = q("SELECT id, published_at FROM _redcat.publication")[0]

    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    shown = {r[0] for r in gmv}
    provisional = sorted({r[0] for r in gmv if r[6]})
    sections = [
        dict(id=CHART_IDS[0], title=t["gmv_h"], chart=_gmv_chart(gmv, programmes, days, lang), note=t["gmv_n"]),
        dict(id=CHART_IDS[1], title=t["roas_h"], chart=_roas_chart(roas, lang), note=t["roas_n"]),
        _models_section(notes_by_model, lang),
        dict(
            id=CHART_IDS[3],
            title=t["funnel_h"],
            chart=_funnel_chart(funnel, lang),
            note=t["funnel_n"].format(lookback=lookback),
            extra=t["view_through"].format(
                visitors=fmt_int(sum(r[6] or 0 for r in funnel), lang),
                buyers=fmt_int(sum(r[7] or 0 for r in funnel), lang),
            ),
        ),
    ]
    credit = t["credit_n"].format(model=t["model_names"][model], lookback=lookback)
    tables = [
        dict(
            title=t["notes_h"],
            note=credit,
            head=[t["col_note"], t["col_creator"], t["col_category"], t["col_gmv"], t["col_purchases"], t["col_reads"]],
            rows=[
                [
                    r[1] or r[0],
                    r[2] or r[3],
                    (r[4] if lang == "zh" else r[5]) or "",
                    fmt_money(r[6], lang),
                    fmt_num(r[7]),
                    fmt_int(r[8], lang),
                ]
                for r in top_notes
            ],
        ),
        dict(
            title=t["creators_h"],
            note=None,
            head=[t["col_creator"], t["col_notes"], t["col_gmv"], t["col_purchases"], t["col_reads"]],
            rows=[
                [r[1] or r[0], r[2], fmt_money(r[3], lang), fmt_num(r[4]), fmt_int(r[5], lang)] for r in top_creators
            ],
        ),
    ]
    cov = "；".join if lang == "zh" else "; ".join
    quality = t["quality"].format(
        coverage=cov(
            [
                t["cov_ok"].format(partner=_partner_name(programmes, p, lang), days=n)
                if not bad
                else t["cov_issue"].format(partner=_partner_name(programmes, p, lang), days=n, bad=bad, accepted=acc)
                for p, n, bad, acc in coverage
            ]
        )
        or "–",
        suppressed=(
            t["suppressed"].format(min_audience=min_audience, hidden=len(days) - len(shown & set(days)))
            if len(shown & set(days)) < len(days)
            else t["suppressed_none"]
        ),
        provisional=t["provisional"].format(n=len(provisional), lookback=lookback) if provisional else "",
    )
    env = Environment(loader=PackageLoader("redcat", "templates"), autoescape=select_autoescape(["html", "j2"]))
    env.filters["figjson"] = figure_json
    return env.get_template("report.html.j2").render(
        lang=lang,
        font_stack=FONT_STACK,
        plotlyjs=get_plotlyjs(),
        title=t["title"].format(brand=brand.name(lang)),
        category=brand.category_zh if lang == "zh" else brand.category_en,
        period=t["period"].format(start=fmt_date(start, lang), end=fmt_date(end, lang)),
        sections=sections,
        tables=tables,
        quality_title=t["quality_h"],
        quality=quality,
        footer=t["footer"].format(pub=pub_id, published=published),
        figures=[(s["id"], s["chart"]) for s in sections],
    )


def _partner_name(programmes, partner: str, lang: str) -> str:
    for r in programmes:
        if r[0] == partner and r[4]:
            return f"{r[4]}（{partner}）" if lang == "zh" else f"{r[5]} ({partner})"
    return partner


# --- charts (Plotly figure JSON; drawn by the template's script) --------------------------------
def _layout(lang: str, **kw) -> dict:
    base = dict(
        template="plotly_white",
        height=400,
        margin=dict(l=80, r=30, t=30, b=60),
        font=dict(family=FONT_STACK, size=13),
        legend=dict(orientation="h", y=-0.15),
    )
    base.update(kw)
    return base


def _gmv_chart(rows, programmes, days, lang) -> dict:
    t = TEXT[lang]
    labels = {d: fmt_date(d, lang) for d in days}
    x = [labels[d] for d in days]
    fig = go.Figure()
    partners = sorted({r[1] for r in rows})
    top = 0.0
    for i, p in enumerate(partners):
        by_day = {r[0]: r for r in rows if r[1] == p}
        color = PARTNER_COLORS[i % len(PARTNER_COLORS)]
        name = _partner_name(programmes, p, lang)
        obs = [by_day[d][2] if d in by_day else None for d in days]
        est = [by_day[d][3] if d in by_day else None for d in days]
        lo = [by_day[d][4] if d in by_day else None for d in days]
        hi = [by_day[d][5] if d in by_day else None for d in days]
        top = max([top] + [v for v in hi if v is not None])
        fig.add_trace(
            go.Bar(
                name=f"{name} {t['observed']}",
                x=x,
                y=obs,
                marker_color=COLORS["observed"],
                opacity=0.6,
                text=[fmt_money(v, lang) for v in obs],
                hovertemplate="%{x}: %{text}<extra></extra>",
                textposition="none",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=hi + lo[::-1],
                fill="toself",
                fillcolor=color,
                opacity=0.15,
                line=dict(width=0),
                name=f"{name} {t['interval']}",
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                name=f"{name} {t['estimated']}",
                x=x,
                y=est,
                mode="lines+markers",
                line=dict(color=color),
                text=[
                    f"{fmt_money(e, lang)} ({fmt_money(a, lang)} – {fmt_money(b, lang)})" if e is not None else ""
                    for e, a, b in zip(est, lo, hi)
                ],
                hovertemplate="%{x}: %{text}<extra></extra>",
            )
        )
    shapes, notes = [], []
    for p in partners:
        seq = [r for r in programmes if r[0] == p]
        for prev, cur in zip(seq, seq[1:]):
            if (cur[2], cur[3]) != (prev[2], prev[3]) and cur[1] in labels:
                shapes.append(
                    dict(
                        type="line",
                        xref="x",
                        yref="paper",
                        x0=labels[cur[1]],
                        x1=labels[cur[1]],
                        y0=0,
                        y1=1,
                        line=dict(dash="dash", color="#2c3e50"),
                    )
                )
                notes.append(
                    dict(
                        x=labels[cur[1]],
                        y=1,
                        xref="x",
                        yref="paper",
                        showarrow=False,
                        xanchor="left",
                        yanchor="top",
                        text=t["sampling_change"].format(
                            programme=(cur[4] if lang == "zh" else cur[5]) or p, version=cur[2], ratio=fmt_pct(cur[3])
                        ),
                    )
                )
    fig.update_layout(
        **_layout(
            lang,
            barmode="overlay",
            shapes=shapes,
            annotations=notes,
            xaxis=dict(type="category", categoryorder="array", categoryarray=x),
            yaxis=money_axis(top, lang),
        )
    )
    return fig.to_plotly_json()


def _roas_chart(rows, lang) -> dict:
    t = TEXT[lang]
    by_model = {r[0]: r for r in rows}
    models = [m for m in MODELS if m in by_model]
    x = [t["model_names"][m] for m in models]
    brand = [by_model[m][3] / by_model[m][1] if by_model[m][1] else None for m in models]
    partner = [by_model[m][4] / by_model[m][2] if by_model[m][2] else None for m in models]
    fig = go.Figure(
        [
            go.Bar(
                name=t["brand_funded"],
                x=x,
                y=brand,
                marker_color=COLORS["brand"],
                text=[fmt_ratio(v) for v in brand],
                textposition="outside",
            ),
            go.Bar(
                name=t["partner_funded"],
                x=x,
                y=partner,
                marker_color=COLORS["partner"],
                text=[fmt_ratio(v) for v in partner],
                textposition="outside",
            ),
        ]
    )
    spend_b = next((r[1] for r in rows), 0) or 0
    spend_p = next((r[2] for r in rows), 0) or 0
    fig.update_layout(
        **_layout(
            lang,
            barmode="group",
            yaxis_title="ROAS",
            title=dict(
                text=f"{t['spend']}: {t['brand_funded']} {fmt_money(spend_b, lang)} · {t['partner_funded']} {fmt_money(spend_p, lang)}",
                font=dict(size=13),
                x=0.01,
            ),
            margin=dict(l=80, r=30, t=50, b=60),
        )
    )
    return fig.to_plotly_json()


def _models_section(rows, lang) -> dict:
    t = TEXT[lang]
    total = {}
    for note, _title, m, v in rows:
        if m == "linear":
            total[note] = v or 0
    top = sorted(total, key=lambda n: (-total[n], n))[:8]
    titles = {r[0]: r[1] or r[0] for r in rows}
    values = {(r[0], r[2]): r[3] or 0 for r in rows}
    spread = (
        max(
            (max(values.get((n, m), 0) for m in MODELS) - min(values.get((n, m), 0) for m in MODELS)) / max(total[n], 1)
            for n in top
        )
        if top
        else 0
    )
    fig = go.Figure(
        [
            go.Bar(
                name=t["model_names"][m],
                x=[f"{titles[n]}<br>{n}" for n in top],
                y=[values.get((n, m), 0) for n in top],
                text=[fmt_money(values.get((n, m), 0), lang) for n in top],
                textposition="none",
                hovertemplate="%{x}: %{text}<extra>" + t["model_names"][m] + "</extra>",
            )
            for m in MODELS
        ]
    )
    fig.update_layout(
        **_layout(lang, barmode="group", height=440, yaxis=money_axis(max(values.values(), default=0), lang))
    )
    return dict(
        id=CHART_IDS[2],
        title=t["models_h"],
        chart=fig.to_plotly_json(),
        note=t["models_n"] + ("" if spread >= 0.01 else " " + t["models_same"]),
    )


def funnel_stages(row) -> list[float]:
    """The five nested stages of a funnel row (partner, readers, clickers, visitors, carters, purchasers, ...)."""
    return [float(v or 0) for v in row[1:6]]


def _funnel_chart(rows, lang) -> dict:
    t = TEXT[lang]
    fig = go.Figure()
    for i, r in enumerate(rows):
        values = funnel_stages(r)
        fig.add_trace(
            go.Funnel(
                name=r[0],
                y=t["stages"],
                x=values,
                marker_color=PARTNER_COLORS[i % len(PARTNER_COLORS)],
                text=[f"{fmt_int(v, lang)} ({fmt_pct(v / values[0] if values[0] else None)})" for v in values],
                textinfo="text",
                hovertemplate="%{y}: %{text}<extra>" + r[0] + "</extra>",
            )
        )
    fig.update_layout(**_layout(lang, funnelmode="group", height=420, margin=dict(l=120, r=30, t=30, b=60)))
    return fig.to_plotly_json()


def figure_json(fig: dict) -> str:
    """A figure for the template's inline script (JSON that cannot close the <script> element)."""
    import plotly.utils

    return json.dumps(fig, cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False).replace("</", "<\\/")
