"""The benchmarks run end to end at a tiny size (``python -m bench``, as `make bench` does; the
inbox's only in `make bench`) and their own correctness checks hold. Their speed is not judged here: figures
belong to real runs (README, "Performance"), never to a test."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

TINY = [
    "--happy-links", "10", "--rounds", "2",
    "--import-links", "60", "--import-per-case", "30",
    "--links", "30", "--bare-links", "30", "--wake", "10", "--sleep", "2",
    "--checks", "120", "--hosts", "5",
]  # fmt: skip


def test_every_benchmark_runs_and_checks_what_it_measured(tmp_path):
    figures = tmp_path / "figures.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "happy", "import", "scale", "liveness", *TINY, "--json", str(figures)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert figures.exists(), finished.stderr[-3000:]
    reports = {report["title"].split(".", 1)[0]: report["rows"] for report in json.loads(figures.read_text())}
    assert sorted(reports) == ["1", "2", "3", "4"], finished.stderr[-3000:]

    happy, bulk, scale, liveness = (reports[n] for n in "1234")
    # Every removal confirmed (a second liveness check and its event), and the bare mirror did the
    # same work: the calibration link's activities and waits, one more of each for the confirmation.
    # Each notice started the law's clock, and the removal met it (two deadline events a link).
    assert happy["checked"].startswith(
        "10/10 REMOVED and completed, 10 confirmed by a second check; 10 emails over SMTP; 10 notices sent; "
        "10 legal clocks met; 100 events"
    )
    # The events are written by local activities (one marker each): the bare mirror still does each as an activity.
    assert happy["per link, tada"].startswith(
        "15 activities (check_liveness ×4, record_event (local) ×10, send_notice_batch ×1); waits 3.0s + 1.0s + 1.0s;"
    )  # the follow-up check, the confirming check, the re-check: deadlines as the policy sets them
    assert " 9 workflow tasks in 1 workflow" in happy["per link, tada"]
    assert re.match(r"\d+\.\d\d \(target <= 1\.2: (met|MISSED)\)", happy["CPU per link, tada / bare"])
    assert re.match(r"\d+\.\d\d \(target <= 1\.15: ", liveness["CPU per check, tada limited / bare"])
    assert re.match(r"\d+\.\d\d \(no target", bulk["CPU per link, tada / bare"])
    assert re.match(r"tada \S+ ms, bare \S+ ms: \d+\.\d\d \(no target", scale["worker CPU per workflow put to sleep"])
    assert happy["per link, bare"].startswith("15 no-op activities; the same waits;")
    assert happy["same work as the calibration link"].startswith("tada links 10/10, bare workflows 10/10 ")
    assert bulk["checked"].startswith("60 started, 0 duplicates")
    assert re.match(
        r"10/10 and 10/10 within \S+ of the instant, 40 others still asleep; 10 sampled links REMOVED",
        scale["sample woke (tada / bare)"],
    )
    assert liveness["verdicts"] == "tada, limited: live 120; tada, no limit: live 120; bare: live 120"
    assert "(limit 4: kept)" in liveness["most at once on one host"]


def test_the_console_benchmark_runs_and_reads_the_queue_by_its_index(tmp_path):
    figures = tmp_path / "console.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "console", "--case-links", "40", "--other-links", "400",
         "--page-rounds", "2", "--json", str(figures)],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert figures.exists(), finished.stderr[-3000:]
    [report] = json.loads(figures.read_text())
    rows = report["rows"]
    assert rows["case"].startswith("40 links (and 400 links of other cases")
    assert re.match(r"[\d.]+ ms \(\d+ KiB of HTML, 2 requests\)", rows["console page, median"])
    assert "Needs me plan" in rows
