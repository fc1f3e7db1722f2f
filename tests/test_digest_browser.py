"""The digest's HTML in a real browser engine (headless Chromium) at mail-client widths.

The .eml the CLI writes is parsed, its cid: images saved beside the HTML, and Chromium
loads it. A small checker script (added to the test copy only, never to the email)
records script errors, images that failed to decode and horizontal overflow into the
DOM, which `--dump-dom` then shows; a screenshot proves something was painted.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import copy_example, run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"),
]

CHECKER = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message || e.target && e.target.src)), true);
window.addEventListener('load', () => {
  const broken = [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src);
  parent.postMessage({
    images: document.images.length, broken: broken.join(' '), errors: window.__errors.join(' | '),
    'viewport-width': window.innerWidth, 'scroll-width': document.documentElement.scrollWidth, checked: 'yes',
  }, '*');
});
</script>"""

# Chromium will not make a window narrower than 500 px; an iframe gives the digest the
# exact viewport of a narrow client, so its @media rules apply as they would on a phone.
FRAME = """<!DOCTYPE html><html><body style="margin:0">
<iframe src="page.html" width="{width}" height="2000" style="border:0"></iframe>
<script>
addEventListener('message', e => {{
  for (const [k, v] of Object.entries(e.data)) document.body.setAttribute('data-' + k, v);
}});
</script></body></html>"""


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--disable-extensions", "--mute-audio", f"--user-data-dir={profile}", "--virtual-time-budget=5000",
         *args],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's digest as the CLI wrote it, unpacked into page.html + PNG files."""
    work = tmp_path_factory.mktemp("browser")
    copy_example(work)
    proc = run_cli("digest", "--config", "config.toml", "--as-of", "2026-11-24", cwd=work)
    assert proc.returncode == 0, proc.stderr
    message = BytesParser(policy=policy.default).parsebytes((work / "outbox" / "2026-W48-all.eml").read_bytes())
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    html = html_part.get_content()
    for part in message.walk():
        if part.get_content_type() == "image/png":
            cid = part["Content-ID"].strip().strip("<>")
            name = f"{part.get_filename() or cid}"
            (work / name).write_bytes(part.get_content())
            html = html.replace(f"cid:{cid}", name)
    assert "cid:" not in html  # every image reference resolved to an attached part
    (work / "page.html").write_text(html.replace("</body>", CHECKER + "</body>"), encoding="utf-8")
    return work


@pytest.mark.parametrize("width", [600, 375])
def test_the_digest_renders_without_errors(page: Path, width: int, tmp_path: Path) -> None:
    frame = page / f"frame-{width}.html"
    frame.write_text(FRAME.format(width=width), encoding="utf-8")
    dom = chromium("--dump-dom", "--window-size=800,2100", frame.as_uri(), profile=tmp_path)
    body = re.search(r"<body([^>]*)>", dom.stdout)
    assert body is not None, dom.stderr[-2000:]
    attrs = dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', body.group(1)))
    assert attrs.get("data-checked") == "yes", dom.stderr[-2000:]
    assert attrs["data-errors"] == ""
    assert attrs["data-broken"] == ""  # every chart decoded
    assert int(attrs["data-images"]) >= 5
    assert int(attrs["data-viewport-width"]) == width
    assert int(attrs["data-scroll-width"]) <= width  # nothing wider than the client: no sideways scrolling


def test_the_screenshot_shows_the_digest(page: Path, tmp_path: Path) -> None:
    shot = page / "digest-600.png"
    proc = chromium(f"--screenshot={shot}", "--window-size=600,2000", (page / "page.html").as_uri(), profile=tmp_path)
    assert shot.exists(), proc.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (600, 2000)
    small = image.resize((60, 200))
    colours = small.getcolors(maxcolors=60 * 200) or []
    assert len(colours) > 20  # text, bars, charts: not a blank page
    dark = sum(n for n, (r, g, b) in colours if r + g + b < 200)
    assert dark > 100  # the header band and text painted
