"""The run summary says plainly which partner-days were not evaluated when a run stopped before
the completeness check (issue 12, item 6)."""

from __future__ import annotations

import datetime as dt
import io

from rich.console import Console

from redcat.outcome import CheckOutcome, RunOutcome
from redcat.summary import not_evaluated, print_run_summary


def test_a_run_that_stopped_before_the_check_lists_every_programme_partner_day(tmp_path):
    from conftest import settings_for

    outcome = RunOutcome(
        start=dt.date(2024, 6, 30),
        end=dt.date(2024, 7, 1),
        run_id="r" * 32,
        success=False,
        step_failures=["content_note_events: unreadable file"],
        skipped_steps=["redcat_dbt"],
    )
    assert not_evaluated(outcome) == ["taobao 2024-06-30", "taobao 2024-07-01"]  # jd joins in 2025
    out = io.StringIO()
    print_run_summary(settings_for(tmp_path / "landing", tmp_path), outcome, Console(file=out, width=400))
    text = out.getvalue()
    assert "NOT EVALUATED" in text and "taobao 2024-06-30, taobao 2024-07-01" in text and "not ok" in text


def test_a_run_whose_check_ran_lists_nothing():
    check = CheckOutcome("marts/mart_callback_completeness", "callback_completeness", True, "ERROR", "ok")
    outcome = RunOutcome(
        start=dt.date(2024, 7, 1), end=dt.date(2024, 7, 1), run_id="r" * 32, success=True, checks=[check]
    )
    assert not_evaluated(outcome) == []
