"""Headless Chromium for tests that check what a reader's browser shows (with the network off).

`make test` installs Chromium (Debian's `chromium`) before the tests; a test that needs it
fails, rather than skips, when it is missing. Every run uses a fresh profile directory, and
the browser's own background traffic (updates, sync, safe browsing) is switched off.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

# Every host name resolves to nothing and every connection goes to a dead proxy port: a page
# that needs a CDN shows what it shows offline. `allow_loopback` keeps 127.0.0.1 reachable
# (a local server under test); the rest of the network stays off.
_OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND"
_DEAD_PROXY = "--proxy-server=http://127.0.0.1:9"
_QUIET = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
)


@dataclass(frozen=True)
class Rendered:
    """A page as the browser rendered it: the DOM after scripts ran, and a screenshot."""

    dom: str
    screenshot: Path

    def visible_text(self) -> str:
        """The DOM without scripts, styles and tags: what a reader can see (roughly)."""
        text = re.sub(r"<(script|style)\b.*?</\1>", " ", self.dom, flags=re.S | re.I)
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


def chromium() -> str:
    """The Chromium binary; fails the test (not skips) when it is not installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "Chromium is not installed: run `make test` (it installs it) or apt-get install chromium"
    )


def render(
    url: str,
    out_dir: Path,
    name: str,
    *,
    allow_loopback: bool = False,
    budget_ms: int = 8000,
    size: str = "1400,1000",
) -> Rendered:
    """Load `url` offline, let its scripts run for `budget_ms` of virtual time, and keep the
    DOM and a screenshot under `out_dir` (the test's artifacts)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    resolver = _OFFLINE + (",EXCLUDE 127.0.0.1,EXCLUDE localhost" if allow_loopback else "")
    args = [
        chromium(),
        *_QUIET,
        resolver,
        _DEAD_PROXY,
        "--proxy-bypass-list=<-loopback>" if allow_loopback else "--proxy-bypass-list=",
        f"--virtual-time-budget={budget_ms}",
        f"--window-size={size}",
    ]
    shot = out_dir / f"{name}.png"
    for extra in (["--dump-dom"], [f"--screenshot={shot}"]):
        profile = out_dir / f".profile-{name}-{extra[0].strip('-').split('=')[0]}"
        proc = subprocess.run(
            [*args, f"--user-data-dir={profile}", *extra, url],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        shutil.rmtree(profile, ignore_errors=True)
        assert proc.returncode == 0, f"chromium failed on {url}: {proc.stderr[-2000:]}"
        if extra == ["--dump-dom"]:
            dom = proc.stdout
    (out_dir / f"{name}.html").write_text(dom)
    assert shot.is_file(), f"chromium wrote no screenshot of {url}"
    return Rendered(dom=dom, screenshot=shot)
