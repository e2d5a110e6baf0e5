"""Analysts' tools: the semantic layer answers like the marts, dbt docs build offline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from warehouse import rows

from redcat.config import DBT_PROJECT_DIR

BIN = Path(sys.executable).parent


def _env(settings):
    return {**os.environ, **settings.export_env()}


def test_semantic_layer_metrics_match_the_marts(clean_built):
    settings, _ = clean_built
    out = subprocess.run(
        [str(BIN / "mf"), "query", "--metrics", "gmv_estimated,gmv_estimated_se,roas", "--group-by",
         "metric_time__day,attribution_model", "--where", "{{ Entity('attribution_model') }} = 'linear'", "--csv",
         "/dev/stdout", "--quiet"],
        cwd=DBT_PROJECT_DIR, env=_env(settings), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = [l.split(",") for l in out.stdout.strip().splitlines() if l and l[0].isdigit()]
    assert len(lines) == 16
    expected = {str(d): (e, se) for d, e, se in rows(settings, """
        SELECT report_date, sum(gmv_estimated), sqrt(sum(gmv_estimated_se * gmv_estimated_se))
        FROM marts.mart_brand_daily WHERE attribution_model = 'linear' GROUP BY 1""")}
    roas = {str(d): r for d, r in rows(settings, """SELECT report_date, sum(gmv_attributed_estimated) / sum(spend_total_cny)
        FROM marts.mart_brand_roi_daily WHERE attribution_model = 'linear' GROUP BY 1""")}
    for day, model, gmv, se, r in lines:
        day = day[:10]
        assert float(gmv) == pytest.approx(expected[day][0], rel=1e-9)
        assert float(se) == pytest.approx(expected[day][1], rel=1e-9, abs=1e-9)
        assert float(r) == pytest.approx(roas[day], rel=1e-9)


def test_dbt_docs_build_offline_into_one_file(clean_built, tmp_path):
    settings, _ = clean_built
    done = subprocess.run([str(BIN / "dbt"), "docs", "generate", "--static", "--target-path", str(tmp_path)],
                          cwd=DBT_PROJECT_DIR, env=_env(settings), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout
    page = (tmp_path / "static_index.html").read_text()
    assert "mart_callback_completeness" in page and "Horvitz" in page
