"""The HTML report in a real headless Chromium on a phone-sized screen: renders, fits, shows Chinese."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from browser import PHONE, SCREENSHOTS, glyph_prints
from matplotlib.image import imread
from playwright.sync_api import Browser, Page

from agent.report import write_report
from agent.report_data import ReportData, sample_report

ROOT = Path(__file__).resolve().parents[2]

CHINESE = ["日", "报", "利", "润", "店"]


@pytest.fixture(scope="module")
def report_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    data: ReportData = sample_report()
    # A long unbroken title must wrap, not push the page wider than the phone.
    data.actions[0].title = "加厚珊瑚绒睡衣" * 12 + "x" * 120
    return write_report(data, tmp_path_factory.mktemp("reports"))


def _open(browser: Browser, path: Path, scale: int = 1) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport=PHONE, device_scale_factor=scale)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_report_renders_on_a_phone(browser, report_files, locale, tmp_path):
    scale = 2 if locale == "zh-CN" else 1  # the zh-CN shot is kept for people to look at: make it sharp
    page, errors = _open(browser, report_files[f"{locale}.html"], scale)
    try:
        heading = page.locator("h1")
        assert heading.is_visible()
        assert "小二的杂货铺" in heading.inner_text()
        assert ("每日经营报告" if locale == "zh-CN" else "Daily report") in heading.inner_text()

        charts = page.locator("figure svg")
        assert charts.count() == 2
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box is not None and 200 < box["width"] <= PHONE["width"] and box["height"] > 100

        widths = page.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth, innerWidth]")
        assert max(widths[:2]) <= widths[2], f"page overflows the phone horizontally: {widths}"

        shot = tmp_path / f"report-{locale}.png"
        png = page.screenshot(path=str(shot), full_page=True)
        assert errors == []
    finally:
        page.close()

    assert png[:8] == b"\x89PNG\r\n\x1a\n" and 30_000 < len(png) < 20_000_000
    image = imread(io.BytesIO(png))
    assert image.shape[1] == PHONE["width"] * scale and image.shape[0] > PHONE["height"] * scale
    rgb = (image[..., :3] * 255).astype(np.uint32)
    colours = np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2])
    assert len(colours) > 200, "the screenshot is (nearly) blank"
    if locale == "zh-CN":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / "report-zh-CN.png").write_bytes(png)


def test_chinese_text_renders_as_glyphs_not_boxes(browser, report_files):
    page, _ = _open(browser, report_files["zh-CN.html"])
    try:
        prints = glyph_prints(page, CHINESE, "h1")
    finally:
        page.close()
    assert len(set(prints)) == len(CHINESE), f"Chinese characters render alike (missing CJK font?): {prints}"


def test_glyph_check_catches_a_browser_without_a_cjk_font(pw, chromium_path, report_files, tmp_path):
    # The check above must be able to fail: the same page with fontconfig limited to DejaVu shows boxes.
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>{tmp_path}/fc-cache</cachedir></fontconfig>"
    )
    env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    browser = pw.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"], env=env)
    try:
        page = browser.new_page(viewport=PHONE)
        page.goto(report_files["zh-CN.html"].as_uri())
        prints = glyph_prints(page, CHINESE, "h1")
    finally:
        browser.close()
    assert len(set(prints)) == 1, f"expected identical boxes without a CJK font, got {prints}"
