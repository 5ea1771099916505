"""The inbox benchmark (``python -m bench inbox``, as `make bench BENCH_ARGS=inbox` does) runs end
to end at a tiny size: both sides read every reply, tada matched each one to its notice and
classified it. Its speed is not judged here (README, "Performance")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_the_inbox_benchmark_reads_every_reply_once(tmp_path):
    figures = tmp_path / "figures.json"
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "inbox", "--replies", "40", "--json", str(figures)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert figures.exists(), finished.stderr[-3000:]
    [report] = json.loads(figures.read_text())
    rows = report["rows"]
    assert report["title"].startswith("5. Inbox: 40 replies")
    # Two tada rounds of 40: a row each, every one matched (tag), none twice, none in error.
    assert rows["checked (tada rounds)"].startswith("80 rows for 80 replies: matched 80; ")
    assert {"acknowledged", "removed", "bounce", "auto_reply"} <= {
        part.split()[0] for part in rows["classified"].split(", ")
    }
    assert rows["replies a round"] == "40 (8 from one sender, the flood; 32 others)"
    assert rows["ratio tada / bare"].split()[0].replace(".", "").isdigit()
    assert "the last other reply was done at position" in rows["flood, tada round 1"]
    assert "reply_matched" not in finished.stdout  # tada's INFO lines held back while it measures
