"""`pip install .` (not editable) gives a working tada from any directory.

The wheel is built from this checkout and installed, without its dependencies (they are
this venv's), into a folder of its own; the program then runs from an unrelated
directory, so nothing is found through the checkout or the working directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
LOCAL_ONLY = (
    ".git",
    ".venv",
    ".tada",
    "build",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = out / "source"  # a copy: building in the checkout would leave build/ and egg-info behind
    shutil.copytree(REPOSITORY, source, symlinks=True, ignore=shutil.ignore_patterns(*LOCAL_ONLY))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    [built] = out.glob("tada-*.whl")
    return built


def test_everything_installs_under_the_one_name_tada_with_its_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"tada"}  # no top-level `settings`, `api`, `services`, `workflows`, ... to shadow others
    for shipped in (
        "tada/adapters/schema.sql",
        "tada/platforms.toml",
        "tada/workflows/link.py",
        "tada/activities/liveness.py",
        "tada/domain/templates/en/initial.j2",
        "tada/domain/data/cdn_ranges.toml",
        "tada/reporting/templates/report.html.j2",
    ):
        assert shipped in names, shipped
    schema = zipfile.ZipFile(wheel).read("tada/adapters/schema.sql")
    assert schema == (REPOSITORY / "schema.sql").read_bytes()  # the real file, not a link


def test_the_installed_program_runs_from_any_directory(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TADA_")}
    env["PYTHONPATH"] = str(target)  # ahead of this venv's editable finder
    probe = (
        "import tada, tada.workflows.link as w, tada.adapters.database as d, tada.settings as s;"
        "print(tada.__file__); print(w.__file__); print(len(d.SCHEMA_PATH.read_text()) > 0);"
        "from tada.domain.registry import load_registry; print(len(load_registry(s.Settings().platforms).platforms));"
        "print(s.Settings().state_dir)"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    package, workflow, schema_found, platforms, state_dir = run.stdout.split()
    assert package.startswith(str(target)) and workflow.startswith(str(target))
    assert schema_found == "True" and int(platforms) > 0
    assert state_dir == str(elsewhere / ".tada")  # no checkout: the working directory's
    cli = subprocess.run(
        [sys.executable, "-c", "from tada.cli.main import main; main()", "--help"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0, cli.stderr
    assert "case" in cli.stdout and "links" in cli.stdout


def test_the_state_directory_is_the_checkouts_whatever_the_working_directory(tmp_path, monkeypatch):
    from tada.settings import default_state_dir

    monkeypatch.chdir(tmp_path)
    assert default_state_dir() == REPOSITORY / ".tada"  # as `make run` keeps it, found from anywhere
