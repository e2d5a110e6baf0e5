"""The brand report: one brand per page, from bi only, in Chinese and English, drawn in a browser."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import subprocess

import duckdb
import pytest

from redcat import contract
from redcat import report as rpt
from redcat.ingest.loader import Loader
from redcat.reference import SEEDS_DIR
from redcat.report import ReportProblem, fmt_date, fmt_money, fmt_pct, write_all_brands, write_report

CHARTS = len(rpt.CHART_IDS)  # GMV, ROAS by funding source, notes by model, nested funnel


@pytest.fixture(scope="module")
def served(clean_built):
    settings, _ = clean_built
    con = duckdb.connect(str(settings.serving), read_only=True)
    # the brand whose funnel reaches furthest (some categories have no links open in this world)
    brand = con.execute(
        "SELECT brand_id FROM bi.mart_funnel_nested_daily GROUP BY 1 ORDER BY sum(purchasers_estimated) DESC, 1 LIMIT 1"
    ).fetchone()[0]
    con.close()
    return settings, brand


@pytest.fixture(scope="module")
def pages(served, tmp_path_factory):
    settings, brand = served
    out = tmp_path_factory.mktemp("report")
    return {lang: write_report(settings.serving, out / f"{brand}-{lang}.html", brand, lang) for lang in ("zh", "en")}


def test_numbers_are_formatted_as_a_chinese_reader_expects():
    assert fmt_money(8765.4, "zh") == "¥8,765"
    assert fmt_money(12_345, "zh") == "¥1.23万"
    assert fmt_money(1_822_150, "zh") == "¥182.2万"
    assert fmt_money(345_000_000, "zh") == "¥3.45亿"
    assert fmt_money(1_822_150, "en") == "¥1.82 M"
    assert fmt_pct(0.12345) == "12.3%"
    assert fmt_date(dt.date(2024, 7, 15), "zh") == "2024年7月15日"
    assert fmt_date(dt.date(2024, 7, 15), "en") == "15 Jul 2024"


def _other_brands(brand: str) -> list[str]:
    with open(SEEDS_DIR / "brands.csv", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["brand_id"] != brand]
    return [v for r in rows for v in (r["brand_id"], r["display_name_zh"], r["display_name_en"])]


def test_the_page_shows_one_brand_with_names_and_formatted_numbers(served, pages):
    settings, brand = served
    zh, en = (pages[k].read_text(encoding="utf-8") for k in ("zh", "en"))
    with open(SEEDS_DIR / "brands.csv", encoding="utf-8") as fh:
        names = next(r for r in csv.DictReader(fh) if r["brand_id"] == brand)
    assert f"<h1>{names['display_name_zh']}：种草到成交报告</h1>" in zh
    assert f"<h1>{names['display_name_en']}: seeding to sale</h1>" in en
    for page in (zh, en):
        leaked = [x for x in _other_brands(brand) if x in page]
        assert not leaked, f"another brand's id or name in the page: {leaked[:5]}"
        assert not re.search(r'<script[^>]+src=["\']https?://', page), "no script from the network"
        assert page.count("Plotly.newPlot(") == CHARTS
        assert page.count("Noto Sans CJK SC") >= 1, "the Chinese font family list"
    assert re.search(r"¥\d+(\.\d+)?万", zh), "money in 万"
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日至\d{4}年\d{1,2}月\d{1,2}日", zh), "the period as dates in Chinese"
    assert re.search(r"\d+\.\d%", zh), "percentages with one decimal"
    assert not re.search(r"\d\.\d{3,}[kM]\b", zh + en), "no SI-formatted numbers"
    assert "｜" in zh and "n00" not in zh.split("<h2>")[-3], "top notes by title, not id"
    assert "sampling 100.0%" in en or "抽样100.0%" in zh, "the 2024-07-01 programme change is marked"
    assert "v3" in zh, "the change is labelled from the policy data"


def test_the_funnel_is_nested_and_never_widens(served):
    settings, brand = served
    con = duckdb.connect(str(settings.serving), read_only=True)
    rows = con.execute(
        """SELECT partner, sum(readers), sum(clickers), sum(visitors_estimated), sum(carters_estimated),
                                 sum(purchasers_estimated), sum(visitors), sum(carters), sum(purchasers)
                          FROM bi.mart_funnel_nested_daily WHERE brand_id = ? GROUP BY 1""",
        [brand],
    ).fetchall()
    per_row = con.execute("""SELECT count(*) FROM bi.mart_funnel_nested_daily
                             WHERE clickers > readers OR visitors > clickers OR carters > visitors
                                OR purchasers > carters OR purchasers_estimated > carters_estimated + 1e-9
                                OR carters_estimated > visitors_estimated + 1e-9
                                OR visitors_estimated > clickers + 1e-9""").fetchone()[0]
    con.close()
    assert rows and per_row == 0
    for r in rows:
        stages = rpt.funnel_stages(r)
        assert stages[0] > 0 and stages[-1] > 0, "a funnel with buyers"
        assert all(a >= b for a, b in zip(stages, stages[1:])), stages
        assert r[6] >= r[7] >= r[8] > 0


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_chart_is_drawn_in_headless_chromium(pages, lang, tmp_path):
    dom = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            pages[lang].as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    ).stdout
    for chart in rpt.CHART_IDS:
        block = dom.split(f'id="{chart}"', 1)[1][:400]
        assert "js-plotly-plot" in block, f"{chart} was not drawn"
    assert dom.count('class="main-svg"') >= CHARTS
    assert "funnellayer" in dom.split('id="chart-funnel"', 1)[1], "the funnel trace was drawn"


def test_system_has_a_chinese_font_of_the_list():
    if shutil.which("fc-list") is None:
        pytest.skip("no fontconfig on this machine")
    families = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True).stdout
    installed = {f.strip() for line in families.splitlines() for f in line.split(",")}
    assert installed & set(rpt.FONT_FAMILIES), (
        f"none of {rpt.FONT_FAMILIES[:-1]} is installed (apt-get install fonts-noto-cjk)"
    )


def test_all_brands_writes_one_file_per_brand(served, tmp_path):
    settings, _ = served
    paths = write_all_brands(settings.serving, tmp_path / "reports", "en")
    brands = rpt.brands_with_data(settings.serving)
    assert len(paths) == len(brands) >= 2
    assert sorted(p.name for p in paths) == sorted(f"report-{b}-en.html" for b in brands)
    with open(SEEDS_DIR / "brands.csv", encoding="utf-8") as fh:
        en = {r["brand_id"]: r["display_name_en"] for r in csv.DictReader(fh)}
    page = paths[1].read_text(encoding="utf-8")
    assert f"<h1>{en[brands[1]]}: seeding to sale</h1>" in page
    assert brands[0] not in page and en[brands[0]] not in page


def test_unknown_brand_and_missing_publication_say_what_to_do(served, tmp_path):
    settings, _ = served
    with pytest.raises(ReportProblem, match="all-brands"):
        write_report(settings.serving, tmp_path / "r.html", "b9999")
    with pytest.raises(ReportProblem, match="redcat run"):
        write_report(tmp_path / "missing.duckdb", tmp_path / "r.html", "b0001")


def test_notes_files_without_the_optional_name_columns_still_load(tmp_path):
    from conftest import settings_for
    from tiny_landing import write_delivery

    landing = tmp_path / "landing"
    old = "note_id,creator_id,brand_id,category,published_at,link_partner\nn1,c1,b1,beauty,2024-07-15T10:00:00+08:00,\n"
    write_delivery(landing, "2024-07-15", "content", {"notes.csv": old.encode()})
    new = (
        "note_id,creator_id,brand_id,category,published_at,link_partner,note_title,creator_name\n"
        "n2,c2,b1,beauty,2024-07-16T10:00:00+08:00,taobao,夏日防晒｜真实测评,小鹿的日常\n"
    )
    write_delivery(landing, "2024-07-16", "content", {"notes.csv": new.encode("utf-8")})
    settings = settings_for(landing, tmp_path / "wh")
    with Loader(settings) as loader:
        results = [loader.load(contract.NOTES, dt.date(2024, 7, d)) for d in (15, 16)]
    assert [r.status for r in results] == ["loaded", "loaded"]
    files = sorted(str(p) for p in settings.raw_dir.glob("content/notes/dt=*/*.parquet"))
    rows = (
        duckdb.connect()
        .sql(f"SELECT note_id, note_title, creator_name FROM read_parquet({files}, union_by_name = true) ORDER BY 1")
        .fetchall()
    )
    assert rows == [("n1", None, None), ("n2", "夏日防晒｜真实测评", "小鹿的日常")]


def test_the_run_summary_shows_the_95_intervals_never_the_se(clean_built):
    """`redcat run`'s results table: the brands' 95 % bounds (summed: conservative), not GMV ± SE."""
    import io

    from conftest import START
    from rich.console import Console

    from redcat.summary import print_results

    settings, _ = clean_built
    out = io.StringIO()
    print_results(settings, Console(file=out, width=400), START, START + dt.timedelta(days=15))
    text = out.getvalue()
    assert "±" not in text and " SE" not in text
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        day, low, high, unbounded = con.execute(
            "SELECT report_date, sum(gmv_estimated_ci_low), sum(gmv_estimated_ci_high), "
            "count(*) FILTER (WHERE gmv_estimated_ci_low IS NULL) FROM marts.mart_brand_daily "
            "WHERE partner = 'taobao' AND attribution_model = 'last_touch' AND report_date = ? GROUP BY 1",
            [START + dt.timedelta(days=6)],
        ).fetchone()
    assert low < high, "at 50 % sampling (before the 2024-07-01 switch) the interval is not a point"
    row = next(line for line in text.splitlines() if str(day) in line)
    assert f"{low:,.0f} – {high:,.0f}" in row
    # brands without an interval are counted, not silently left out of the bounds
    assert (f"(+{unbounded} brand" in row) == (unbounded > 0)
