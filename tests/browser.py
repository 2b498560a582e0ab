"""A real headless Chromium for the browser tests: where it is, and a check that Chinese renders as glyphs."""

import subprocess
from pathlib import Path

from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parents[1]
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = ROOT / "out" / "screenshots"

# Draws characters in the font of `selector` on a canvas and fingerprints the ink. Without a CJK font
# Chromium draws the same empty box for every Chinese character, so the fingerprints coincide.
# (document.fonts.check() is no help: it answers true for any font not loaded as a web font.)
_GLYPHS_JS = """([chars, selector]) => {
  const font = getComputedStyle(document.querySelector(selector)).fontFamily;
  const c = document.createElement('canvas'); c.width = 48; c.height = 48;
  const ctx = c.getContext('2d', {willReadFrequently: true});
  return chars.map(ch => {
    ctx.clearRect(0, 0, 48, 48); ctx.fillStyle = '#000'; ctx.font = `40px ${font}`; ctx.fillText(ch, 2, 40);
    const d = ctx.getImageData(0, 0, 48, 48).data; let ink = 0, h = 0;
    for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) ink++; h = (h * 31 + d[i]) >>> 0; }
    return ink + ':' + h;
  });
}"""


def glyph_prints(page: Page, chars: list[str], selector: str = "body") -> list[str]:
    """One ink fingerprint per character, drawn in the font `selector` uses; all alike means no CJK font."""
    return page.evaluate(_GLYPHS_JS, [chars, selector])


def ensure_chromium() -> tuple[int, str, str]:
    """Run scripts/ensure-browser (installs Chromium and the CJK font as root): (exit code, stdout, stderr)."""
    proc = subprocess.run([str(ROOT / "scripts" / "ensure-browser")], capture_output=True, text=True, timeout=900)
    return proc.returncode, proc.stdout, proc.stderr
