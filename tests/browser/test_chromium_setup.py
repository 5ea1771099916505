"""Where Chromium is missing and cannot be installed, the browser tests fail saying how to
install it (the session's ``chromium`` fixture turns that into a failure, never a skip)."""

from __future__ import annotations

import pytest

from tests.support import browser


@pytest.fixture
def no_chromium(monkeypatch, tmp_path):
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "chromium")


def test_a_machine_without_apt_get_is_told_how_to_install_chromium(no_chromium, monkeypatch):
    monkeypatch.setattr(browser.shutil, "which", lambda name: None)
    with pytest.raises(browser.ChromiumMissing, match="apt-get install -y chromium.*has no apt-get"):
        browser.ensure_chromium()


def test_a_run_without_root_is_told_how_to_install_chromium(no_chromium, monkeypatch):
    monkeypatch.setattr(browser.shutil, "which", lambda name: "/usr/bin/apt-get")
    monkeypatch.setattr(browser.os, "geteuid", lambda: 1000)
    with pytest.raises(browser.ChromiumMissing, match="apt-get install -y chromium.*not run as root"):
        browser.ensure_chromium()


def test_a_failed_install_is_retried_after_an_update_and_then_reported(no_chromium, monkeypatch):
    monkeypatch.setattr(browser.shutil, "which", lambda name: "/usr/bin/apt-get")
    monkeypatch.setattr(browser.os, "geteuid", lambda: 0)
    ran: list[tuple[str, ...]] = []

    def apt(*args: str):
        ran.append(args)
        code = 0 if args == ("update",) else 100
        return browser.subprocess.CompletedProcess(["apt-get", *args], code, "", "E: Unable to locate package chromium")

    monkeypatch.setattr(browser, "_apt", apt)
    with pytest.raises(browser.ChromiumMissing, match="failed: E: Unable to locate package chromium"):
        browser.ensure_chromium()
    assert ran == [("install", "chromium"), ("update",), ("install", "chromium")]
