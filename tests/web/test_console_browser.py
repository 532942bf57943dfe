"""The console in Debian's Chromium (Playwright drives /usr/bin/chromium; no browser download)
against a real `fanzha serve`: an analyst works an alert and opens a case's money-flow graph, a
citizen looks up her ID, the English toggle, and the pages other roles are denied. Screenshots
go to test-artifacts/console/."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from web_world import codes

from api.api_world import CITIZEN_ID, VICTIM
from fanzha.investigate.cards import list_entries
from fanzha.linkage import now
from fanzha.store import open_store
from fanzha.testing import served

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def server(web_world, tmp_path_factory):
    path, keys = web_world
    d = tmp_path_factory.mktemp("served")
    db = d / "console.duckdb"
    shutil.copy(path, db)
    with open_store(str(db)) as s:  # the citizen's phone card became a fraud number (断卡)
        flagged = pl.DataFrame({"card_type": ["sim"], "card_number": [VICTIM], "issuer": ["cmcc"],
                                "reasons": ["turned_bad"], "evidence": ["fraud number"],
                                "id_number": [CITIZEN_ID]})
        s.add_list_entries(list_entries(flagged, now()))
    sms = d / "sms"
    with served(str(db), "--sms-sink", str(sms), "--engine-every", "0", "--deliver-every", "0",
                "--log-level", "warning") as (base, _):
        yield base, keys, sms


@pytest.fixture(scope="module")
def investigations_server(investigations_world, tmp_path_factory):
    path, keys = investigations_world
    db = tmp_path_factory.mktemp("served-inv") / "world.duckdb"
    shutil.copy(path, db)
    with served(str(db), "--engine-every", "0", "--deliver-every", "0",
                "--log-level", "warning") as (base, _):
        yield base, keys


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    yield p
    context.close()
    assert errors == []  # no script failed on any page


def _login(page, base: str, key: str) -> None:
    page.goto(f"{base}/console/login")
    page.fill("#key", key)
    page.click("#login")


def test_analyst_works_an_alert(server, page):
    base, keys, _ = server
    _login(page, base, keys["analyst"])
    assert page.url.endswith("/console/alerts")
    assert page.locator("#tier-high tr.alert").count() >= 1
    page.screenshot(path=SHOTS / "alerts.png", full_page=True)
    page.locator("#tier-high tr.alert a").first.click()
    assert page.get_attribute("#status", "data-status") == "open"
    page.fill("#f-assign input[name=assignee]", "王警官")
    page.click("#f-assign button")
    assert page.get_attribute("#status", "data-status") == "assigned"
    assert page.inner_text("#assignee") == "王警官"
    page.select_option("#f-contact select", "reached_dissuaded")
    page.click("#f-contact button")
    assert page.get_attribute("#status", "data-status") == "contacted"
    assert page.inner_text("#outcome") == "reached_dissuaded"
    assert page.locator("#history tr").count() == 2
    page.screenshot(path=SHOTS / "alert-worked.png", full_page=True)
    page.click("text=无诈社区")
    page.wait_for_selector("#chart canvas")
    names = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('chart'))"
        ".getOption().xAxis[0].data"
    )
    assert names == page.locator("tr.community td:first-child").all_inner_texts()
    page.screenshot(path=SHOTS / "community.png", full_page=True)


def test_analyst_opens_a_case_and_sees_its_graph(server, page):
    base, keys, _ = server
    _login(page, base, keys["police"])
    page.click("text=案件")
    page.click("#cases a >> text=J1")
    page.wait_for_selector("#graph canvas")
    n = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('graph'))"
        ".getOption().series[0].data.length"
    )
    links = page.evaluate(
        "() => echarts.getInstanceByDom(document.getElementById('graph'))"
        ".getOption().series[0].links.length"
    )
    assert (n, links) == (4, 3)
    assert page.locator("#orders tr").count() == 4  # header + three freeze orders
    page.screenshot(path=SHOTS / "case.png", full_page=True)


def test_citizen_looks_up_her_id_and_flags_one(server, page):
    base, keys, sms = server
    _login(page, base, keys["citizen"])
    assert page.url.endswith("/console/citizen")
    page.fill("#id_number", CITIZEN_ID)
    page.fill("#phone", VICTIM)
    page.click("#send")
    assert "138****8000" in page.inner_text("#sent")
    page.fill("#code", codes(sms)[-1])
    page.click("#verify")
    assert page.locator("tr.item").count() == 4
    assert VICTIM not in page.content()
    assert page.locator("#phone_cards .high-risk").count() == 1  # the 断卡 notice on her card
    assert "断卡" in page.inner_text("#phone_cards .high-risk")
    page.locator("#bank_cards button.not-mine").click()
    assert page.locator("#flagged").is_visible()
    assert page.locator("#bank_cards .flagged").count() == 1
    page.screenshot(path=SHOTS / "citizen.png", full_page=True)


def test_english_toggle(server, page):
    base, keys, _ = server
    _login(page, base, keys["analyst"])
    assert "预警队列" in page.inner_text("h1")
    page.click("#lang")
    assert "Alert queue" in page.inner_text("h1")
    page.goto(f"{base}/console/cases")
    assert page.inner_text("h1") == "Cases"  # the choice is kept
    page.screenshot(path=SHOTS / "english.png", full_page=True)


@pytest.mark.parametrize("who", ["citizen", "bank"])
def test_other_roles_are_denied_the_analyst_pages(server, page, who):
    base, keys, _ = server
    _login(page, base, keys[who])
    r = page.goto(f"{base}/console/cases/J1")
    if who == "bank":  # a partner cannot log in at all
        assert page.url.endswith("/console/login")
    else:
        assert r.status == 403 and page.locator("#denied").is_visible()
    assert page.locator("#graph").count() == 0
    page.screenshot(path=SHOTS / f"denied-{who}.png", full_page=True)


def _series(page, el: str, what: str):
    return page.evaluate(
        f"() => echarts.getInstanceByDom(document.getElementById('{el}')).getOption()"
        f".series[0].{what}"
    )


def test_analyst_sees_the_leak_sources_and_the_account_rings(investigations_server, page):
    base, keys = investigations_server
    _login(page, base, keys["analyst"])
    page.click("text=泄露溯源")
    page.wait_for_selector("#chart canvas")
    assert _series(page, "chart", "data.length") == page.locator("tr.source").count() >= 1
    page.screenshot(path=SHOTS / "leaks.png", full_page=True)
    page.click("text=黑号团伙")
    page.wait_for_selector("#graph canvas")
    accounts = page.locator("tr.ring-account").count()
    assert accounts >= 10
    n = _series(page, "graph", "data.length")
    assert n > accounts and _series(page, "graph", "links.length") >= accounts
    page.screenshot(path=SHOTS / "rings.png", full_page=True)


def test_analyst_backtests_a_candidate_on_the_policy_page(server, page):
    from fanzha.decide.policy import default_policy_text

    tiers = ("CASE WHEN score >= 0.8 THEN 'high' WHEN score >= 0.5 THEN 'medium' "
             "WHEN score >= 0.3 THEN 'low' END")
    no_high = default_policy_text().replace(
        tiers, "CASE WHEN score >= 0.5 THEN 'medium' WHEN score >= 0.3 THEN 'low' END")
    base, keys, _ = server
    _login(page, base, keys["analyst"])
    page.click("text=预警策略")
    assert page.locator("#versions tr.version").count() >= 1
    page.fill("#backtest-form textarea", no_high)
    page.fill("#backtest-form input[name=start]", "2026-01-01")
    page.fill("#backtest-form input[name=end]", "2026-03-31")
    page.click("#run-backtest")
    page.wait_for_selector("#backtest")
    assert int(page.inner_text("#high-dropped")) > 0  # the dropped high tier shows in numbers
    live_high, cand_high = page.locator("#backtest tr.tier-high td").all_inner_texts()[1:]
    assert int(live_high) > 0 and int(cand_high) == 0
    page.screenshot(path=SHOTS / "policy-backtest.png", full_page=True)
