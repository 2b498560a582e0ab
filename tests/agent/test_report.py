"""The daily report: numbers, action groups, anomalies, both languages, escaping, files."""

from __future__ import annotations

import datetime as dt
import json
import re
import string
import warnings

import pytest
from pydantic import ValidationError

from agent import i18n, report_charts
from agent.report import delta, money, render_html, render_json, render_markdown, write_report
from agent.report_data import ActionLine, Anomaly, DayKpis, ReportData, SkuRoi, sample_report

HOSTILE = "<script>alert('x')</script>"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def data() -> ReportData:
    return sample_report()


def _hostile(data: ReportData) -> ReportData:
    """The sample with untrusted text everywhere it can come from: titles, rationale, LLM narrative."""
    return data.model_copy(update={
        "shop_name": f"Shop {HOSTILE}",
        "narrative": f"All fine. {HOSTILE}\n\n<img src=x onerror=alert(1)> | broken | table",
        "roi_by_sku": [SkuRoi(sku="SKU-$x$ -->", title=HOSTILE, roi=2.0, break_even_roi=2.5)],
        "actions": [ActionLine(kind="set_bid", target=f"campaign {HOSTILE}", sku="SKU-1", title=HOSTILE,
                               before=1.0, after=1.1, status="executed",
                               rationale=f"line one\n- [click](http://evil.example) *{HOSTILE}* | x |",
                               expected_effect=HOSTILE)],
        "anomalies": [Anomaly(code="other", sku="SKU-1", params={"detail": HOSTILE})],
    })


# --- Formatting ---------------------------------------------------------------------------------

def test_money_formats_yuan_with_thousands_and_true_minus():
    assert money(1234.56) == "¥1,234.56"
    assert money(-1234.5) == "\u2212¥1,234.50"
    assert money(-0.001) == "¥0.00"
    assert money(None) == "—"


@pytest.mark.parametrize(("now", "before", "shown"), [
    (110, 100, "+10.0%"), (90, 100, "\u221210.0%"), (100, 100, "0.0%"),
    (-50, -100, "+50.0%"), (5, 0, "—"), (5, None, "—"), (None, 5, "—"),
])
def test_delta_shows_signed_percent_or_dash(now, before, shown):
    assert delta(now, before) == shown


def test_day_kpis_derive_roi_and_gmv_per_yuan():
    day = DayKpis(date=dt.date(2026, 3, 1), profit=100, gmv=4300, orders=70, ad_spend=80, coupon_cost=20)
    assert day.roi == pytest.approx(53.75)
    assert day.gmv_per_yuan == pytest.approx(43.0)
    idle = DayKpis(date=dt.date(2026, 3, 1), profit=0, gmv=0, orders=0, ad_spend=0, coupon_cost=0)
    assert (idle.roi, idle.gmv_per_yuan, idle.net_margin) == (None, None, None)


# --- Content ------------------------------------------------------------------------------------

@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_report_shows_kpis_with_deltas_against_yesterday_and_last_week(data, render):
    text = render(data, "en")
    today, yesterday, last_week = data.today, data.yesterday, data.last_week
    assert money(today.profit) in text and money(today.gmv) in text and money(today.ad_spend) in text
    assert money(today.coupon_cost) in text and money(today.gmv_per_yuan) in text
    assert "Profit after ad and coupon cost" in text and "GMV per ¥1 of ad and coupon spend" in text
    assert delta(today.profit, yesterday.profit) in text
    assert delta(today.profit, last_week.profit) in text
    assert delta(today.gmv_per_yuan, last_week.gmv_per_yuan) in text


@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_report_shows_dash_when_there_is_nothing_to_compare(data, render):
    text = render(data.model_copy(update={"yesterday": None, "last_week": None}), "en")
    assert "—" in text
    assert delta(data.today.profit, data.yesterday.profit) not in text


@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_report_groups_actions_with_rationale_error_and_limit(data, render):
    text = render(data, "en")
    for title in ("Executed", "Failed", "Awaiting your approval", "Blocked by your limits", "Expired or rejected"):
        assert title in text
    assert "ROI 4.1 is well above break-even 2.6" in text  # executed: rationale
    assert "About 15 more clicks" in text  # executed: expected effect
    assert "platform timeout (HTTP 503)" in text  # failed: error
    assert "2026-03-15 09:00" in text  # pending: expiry
    assert "Highest bid (spend.max" in text and "above the highest bid ¥2.00" in text  # denied: limit + numbers
    assert "expired" in text and "rejected by you" in text
    assert "¥1.20 → ¥1.30" in text and "search → whole" in text
    # Groups appear in the order an owner reads them: done, broken, waiting, blocked, closed.
    positions = [text.index(t) for t in ("Executed", "Failed", "Awaiting", "Blocked", "Expired or")]
    assert positions == sorted(positions)


@pytest.mark.parametrize("render", [render_markdown, render_html])
def test_report_lists_every_anomaly_in_both_languages(data, render):
    en, zh = render(data, "en"), render(data, "zh-CN")
    for phrase in ("stage-2 cut-off", "below the break-even ROI 2.40", "2.5 days of stock",
                   "30-day lowest price below the floor ¥85.00", "Refund requests doubled"):
        assert phrase in en
    for phrase in ("二阶段断流", "低于保本 ROI 2.40", "库存约还能卖 2.5 天", "3·15 大促", "Refund requests doubled"):
        assert phrase in zh


def test_report_without_actions_or_anomalies_says_so(data):
    quiet = data.model_copy(update={"actions": [], "anomalies": [], "roi_by_sku": []})
    md = render_markdown(quiet, "en")
    assert "No actions today." in md and "Nothing unusual today." in md and "No ROI by SKU today." in md
    assert "Blocked by your limits" not in md
    assert render_html(quiet, "zh-CN").count("<svg") == 1  # the trend chart only


def test_locales_render_distinct_text_with_chinese_headings(data):
    en, zh = render_markdown(data, "en"), render_markdown(data, "zh-CN")
    headings = lambda md: [line for line in md.splitlines() if line.startswith("#")]  # noqa: E731
    assert all(CJK.search(h) for h in headings(zh))
    assert not any(CJK.search(h.replace(data.shop_name, "")) for h in headings(en))
    assert "## 核心指标" in zh and "## Key figures" in en
    assert '<html lang="zh-CN">' in render_html(data, "zh-CN")
    assert '<html lang="en">' in render_html(data, "en")


def test_locale_defaults_to_the_shops(data):
    assert render_markdown(data) == render_markdown(data, "zh-CN")
    assert "Key figures" in render_markdown(data.model_copy(update={"locale": "en"}))


def test_generated_narrative_summarises_the_day(data):
    md = render_markdown(data, "en")
    assert f"Profit {money(data.today.profit)} on GMV {money(data.today.gmv)}" in md
    assert "1 executed, 1 awaiting your approval, 1 blocked by your limits" in md
    assert "今日成交额" in render_markdown(data, "zh-CN")


def test_narrative_from_an_llm_replaces_the_template_sentence(data):
    md = render_markdown(data.model_copy(update={"narrative": "A calm day.\n\nNothing to do."}), "en")
    assert "A calm day.\n\nNothing to do." in md
    assert "Profit ¥" not in md.split("## Key figures")[0]


# --- HTML page ----------------------------------------------------------------------------------

def test_html_is_one_self_contained_page(data):
    html = render_html(data, "zh-CN")
    assert '<meta charset="utf-8">' in html and 'name="viewport"' in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"<(script|link|iframe|img)\b", html, re.I)
    assert "url(" not in html.split("</style>")[0].split("<style>")[1]
    svgs = re.findall(r"<svg\b[^>]*>", html)
    assert len(svgs) == 2 and all("viewBox" in s and " width=" not in s for s in svgs)
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html


def test_html_is_the_same_for_the_same_data(data):
    assert render_html(data, "en") == render_html(data, "en")


def test_charts_fall_back_quietly_without_the_cjk_font(data, monkeypatch):
    monkeypatch.setattr(report_charts, "cjk_font_available", lambda: False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        html = render_html(data, "zh-CN")
    assert html.count("<svg") == 2 and "核心指标" in html


# --- Untrusted text -----------------------------------------------------------------------------

def test_html_renders_hostile_text_as_text(data):
    html = render_html(_hostile(data), "en")
    assert "<script" not in html and "<img" not in html
    assert "SKU-$x$ --&gt;" in html  # in the table as text; in the chart as glyphs, not mathtext
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_markdown_renders_hostile_text_as_literal_text(data):
    md = render_markdown(_hostile(data), "en")
    assert not re.search(r"(?<!\\)[<>]", md)  # every angle bracket is escaped
    assert r"\<script\>" in md and r"\<img src=x" in md
    assert "[click](" not in md and r"\[click\](http://evil.example)" in md
    # A "|" or a newline in data cannot add cells or lines to a table or a list.
    roi_rows = [line for line in md.splitlines() if line.startswith("| SKU-")]
    assert len(roi_rows) == 1 and roi_rows[0].count(" | ") == 3
    assert not any(line.startswith("- [click]") for line in md.splitlines())


# --- Input validation ---------------------------------------------------------------------------

def test_denied_action_must_name_its_limit():
    with pytest.raises(ValidationError, match="limit that blocked it"):
        ActionLine(kind="set_bid", target="C-1", status="denied", rationale="x")


def test_failed_action_must_carry_its_error():
    with pytest.raises(ValidationError, match="needs its error"):
        ActionLine(kind="set_bid", target="C-1", status="failed")


@pytest.mark.parametrize(("code", "params"), [
    ("stockout_risk", {}), ("stockout_risk", {"days_left": "soon"}),
    ("roi_below_break_even", {"roi": 1.0, "break_even": 2.0}), ("other", {"detail": 3.0}),
])
def test_anomaly_params_must_match_its_code(code, params):
    with pytest.raises(ValidationError):
        Anomaly(code=code, params=params)


@pytest.mark.parametrize("shop_id", ["../etc", "a/b", "", ".hidden"])
def test_shop_id_must_be_a_plain_folder_name(data, shop_id):
    with pytest.raises(ValidationError):
        ReportData.model_validate({**data.model_dump(), "shop_id": shop_id})


def test_comparison_days_must_be_yesterday_and_a_week_before(data):
    with pytest.raises(ValidationError, match="last_week is dated"):
        ReportData.model_validate({**data.model_dump(), "last_week": data.yesterday.model_dump()})


def test_trend_is_sorted_and_at_most_28_days(data):
    shuffled = ReportData.model_validate({**data.model_dump(), "trend": data.model_dump()["trend"][::-1]})
    assert [d.date for d in shuffled.trend] == sorted(d.date for d in data.trend)
    day = data.today.model_dump()
    long = [{**day, "date": data.date - dt.timedelta(days=i)} for i in range(29)]
    with pytest.raises(ValidationError):
        ReportData.model_validate({**data.model_dump(), "trend": long})


# --- Output -------------------------------------------------------------------------------------

def test_render_json_is_json_with_derived_kpis(data):
    payload = render_json(data)
    assert json.loads(json.dumps(payload)) == payload
    assert payload["today"]["gmv_per_yuan"] == pytest.approx(data.today.gmv_per_yuan)
    assert payload["actions"][3]["limit"] == "spend.max_bid"
    assert ReportData.model_validate(payload) == data  # a stored report reads back


def test_write_report_writes_markdown_and_html_in_both_locales(data, tmp_path):
    paths = write_report(data, tmp_path)
    folder = tmp_path / "demo-shop"
    expected = {f"{loc}.{ext}": folder / f"2026-03-14.{loc}.{ext}" for loc in ("en", "zh-CN") for ext in ("md", "html")}
    assert paths == expected
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths.values())
    assert "Key figures" in paths["en.md"].read_text(encoding="utf-8")
    assert "核心指标" in paths["zh-CN.html"].read_text(encoding="utf-8")
    assert write_report(data, tmp_path) == paths  # rewriting replaces, leaves no temp files
    assert len(list(folder.iterdir())) == 4


def test_every_string_has_the_same_placeholders_in_both_languages():
    fields = lambda text: {f for _, f, _, _ in string.Formatter().parse(text) if f}  # noqa: E731
    for key in i18n.keys():
        en, zh = (i18n.t(key, loc) for loc in i18n.LOCALES)
        assert fields(en) == fields(zh), key
        if zh == en:
            assert key in {"chart.roi_axis", "roi.roi", "anomaly.other"}, f"{key} is not translated"
