"""The HTML report renders from the serving file, offline, with its charts."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from redcat.report import ReportProblem, write_report

CHARTS = 4  # ROAS, funnel, GMV, coverage


@pytest.fixture(scope="module")
def report(clean_built, tmp_path_factory):
    settings, _ = clean_built
    return write_report(settings.serving, tmp_path_factory.mktemp("report") / "report.html")


def test_report_has_its_sections_and_needs_no_network(report):
    page = report.read_text()
    for title in ("Return on ad spend by attribution model", "Funnel with taobao", "GMV with taobao: observed and estimated",
                  "Callback coverage", "Top notes", "Top creators"):
        assert f"<h2>{title}" in page
    assert len(re.findall(r'id="chart-\d"', page)) == CHARTS
    assert "Plotly.newPlot" in page and len(page) > 3_000_000, "plotly.js is embedded"
    assert not re.search(r'<script[^>]+src=["\']https?://', page), "no script from the network"
    assert page.count("<tr>") >= 20, "top notes and creators tables"


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Chromium is not installed (CI installs it)")
def test_report_charts_are_drawn_in_a_browser(report, tmp_path):
    dom = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000", "--dump-dom", report.as_uri()],
        capture_output=True, text=True, timeout=120).stdout
    assert len(re.findall(r'class="[^"]*js-plotly-plot', dom)) == CHARTS
    assert dom.count('class="main-svg"') >= CHARTS


def test_report_without_a_publication_says_what_to_do(tmp_path):
    with pytest.raises(ReportProblem, match="redcat run"):
        write_report(tmp_path / "missing.duckdb", tmp_path / "r.html")
