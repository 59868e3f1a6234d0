"""The systemd unit: `systemd-analyze verify` is clean and its exposure is 2.0 or lower."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

UNIT = REPO / "deploy" / "systemd" / "newsmon.service"
INSTALLED = "/opt/newsmon/venv/bin/newsmon"

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


def unit_here(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's newsmon, so verify can check it."""
    text = UNIT.read_text(encoding="utf-8")
    assert INSTALLED in text
    local = tmp_path / "newsmon.service"
    local.write_text(text.replace(INSTALLED, str(Path(sys.executable).parent / "newsmon")))
    return local


def test_unit_verifies_clean(tmp_path: Path) -> None:
    """`systemd-analyze verify` reports nothing for the unit."""
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit_here(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stderr.strip()) == (0, "")


def test_unit_exposure_is_at_most_two(tmp_path: Path) -> None:
    """`systemd-analyze security --offline=yes` rates the unit 2.0 or lower."""
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(unit_here(tmp_path))],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= 2.0


def test_unit_is_notify_with_watchdog_and_reload() -> None:
    """The unit lets the daemon speak the notify protocol, watches it, and reloads by SIGHUP."""
    text = UNIT.read_text(encoding="utf-8")
    for line in (
        "Type=notify",
        "WatchdogSec=",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "StateDirectory=newsmon",
        "ConfigurationDirectory=newsmon",
    ):
        assert re.search(rf"^{re.escape(line)}", text, re.MULTILINE), line
