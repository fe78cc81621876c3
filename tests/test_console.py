"""The web console in a real browser (Debian's Chromium through Playwright) against a real server with
tokens: sign-in, the fleet, the group editor's live blast radius, config edits with history, diff, rollback
and conflicts, a rollout moving as an agent fetches, a viewer without write controls, and agent-supplied
text that looks like HTML shown as text and never run.

Every page is watched: a dialog (alert), an uncaught error, or a Content-Security-Policy violation fails the
test that caused it. One browser and one server serve the module; each test has a fresh browser context
(its own sessionStorage) and names of its own. Without Chromium the module is skipped with the reason,
except under CI=true, where it fails.
"""

import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Locator, Page, expect, sync_playwright

from configserverctl.routes import WRITE_METHODS
from http_gateway.console import CONTENT_SECURITY_POLICY
from tests.screenshots import JsonApi, chromium, launch
from tests.support import HttpClient, ServerThread, running_server

TOKENS = "alice editor TOKEN_A\nbob viewer TOKEN_B\n"
HOSTILE = "<img src=x onerror=alert(1)>"
WRITE_BUTTONS = re.compile(r"^(Save|Delete|New group|New config|Roll back|Apply|Remove|Create|\+ Add tag)")
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""
"""Runs before the console's own scripts (Playwright injects it past the CSP): records every violation."""

HOLD_ANSWERS = """
window.__held = [];
window.__read = 0;
const read = new MessageChannel();
read.port1.onmessage = () => { window.__read += 1; };
const fetchFromServer = window.fetch;
window.fetch = (url, init) => {
  if (!String(url).endsWith(`/User/${window.__hold}`)) return fetchFromServer(url, init);
  return new Promise((resolve) => {
    window.__held.push((answer) => {
      const headers = { "Content-Type": "application/json" };
      const response = new Response(JSON.stringify(answer), { headers });
      const readJson = response.json.bind(response);
      response.json = async () => {
        const value = await readJson();
        read.port2.postMessage(null);
        return value;
      };
      resolve(response);
    });
  });
};
"""
"""Holds the console's calls of the RPC named by window.__hold: each waits in window.__held until the test
answers it (window.__held[i](answer)), in the order the test chooses. window.__read counts the answers whose
JSON the console read, once the code that follows has run (it runs in microtasks, before the count's task: a
message, which the test's stopped clock does not hold back as it would a timer)."""
AnswerOf = Callable[[int], dict[str, Any]]
"""An answer of a held RPC, showing `n` where the test looks."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if chromium() is None:
        reason = "Chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true needs the console's browser: {reason}")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    directory: Path = tmp_path_factory.mktemp("console")
    with running_server(f"sqlite:///{directory / 'store.db'}", user_token=TOKENS) as server:
        yield server


@pytest.fixture(scope="module")
def alice(console_server: ServerThread) -> JsonApi:
    """The editor, through the API (to set the scene, or to write behind the console's back)."""
    return JsonApi(console_server.http_port, "TOKEN_A")


@pytest.fixture(scope="module")
def agents(console_server: ServerThread) -> JsonApi:
    """The Agent API (no agent token is configured)."""
    return JsonApi(console_server.http_port)


@dataclass
class Watch:
    """What a page did that it must not: dialogs, uncaught errors, CSP violations."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    csp_messages: list[str] = field(default_factory=list)

    def on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.csp_messages.append(message.text)


@dataclass
class Console:
    page: Page
    base: str
    watch: Watch

    def open(self, route: str) -> None:
        self.page.goto(f"{self.base}/ui/#{route}")

    def go(self, route: str) -> None:
        """Follow a route within the signed-in page (as a link does)."""
        self.page.evaluate("route => { location.hash = route; }", route)

    def sign_in(self, token: str) -> None:
        self.open("/overview")
        self.page.fill("#token", token)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.locator("#role")).to_be_visible()

    def violations(self) -> list[str]:
        found: list[str] = self.page.evaluate("window.__cspViolations || []")
        return found + self.watch.csp_messages


@contextmanager
def opened_console(browser: Browser, server: ServerThread) -> Iterator[Console]:
    """A fresh browser context on `server`'s console, watched; what the page did wrong fails at the end."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(script=WATCH_CSP)
    page = context.new_page()
    watch = Watch()
    page.on("dialog", watch.on_dialog)
    page.on("console", watch.on_console)
    page.on("pageerror", lambda error: watch.errors.append(str(error)))
    opened = Console(page, f"http://127.0.0.1:{server.http_port}", watch)
    try:
        yield opened
        violations = opened.violations()
    finally:
        context.close()
    assert watch.dialogs == [], "a dialog opened: something ran that should not have"
    assert watch.errors == [], "the console threw"
    assert violations == [], "the console broke its Content-Security-Policy"


@pytest.fixture
def console(browser: Browser, console_server: ServerThread) -> Iterator[Console]:
    with opened_console(browser, console_server) as opened:
        yield opened


def signed_in(console: Console, token: str = "TOKEN_A") -> Page:
    console.sign_in(token)
    return console.page


# Serving.


def test_the_console_is_served_with_its_content_security_policy(console_server: ServerThread) -> None:
    http = HttpClient(console_server.http_port)
    page = http.request("GET", "/ui/")
    assert page.status == 200 and b'<script type="module" src="app.js">' in page.body
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe" not in CONTENT_SECURITY_POLICY
    script = http.request("GET", "/ui/app.js")
    assert script.status == 200 and "javascript" in script.headers["Content-Type"]
    assert script.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    routes = http.request("GET", "/ui/routes.js")
    assert routes.status == 200 and "javascript" in routes.headers["Content-Type"]
    assert http.request("GET", "/ui").status in (301, 302)


def test_the_console_and_the_cli_send_writes_with_the_same_methods(console: Console) -> None:
    """One table, generated from service.proto for both: what the browser loads is what the CLI imports."""
    page = signed_in(console)
    served = page.evaluate(
        'async () => ({ ...(await import(new URL("routes.js", document.baseURI))).WRITE_METHODS })'
    )
    assert served == WRITE_METHODS and "UpdateConfig" in served


def test_the_watch_sees_a_csp_violation(console: Console) -> None:
    """Control: inline script is blocked and recorded, so a clean run of the other tests means something."""
    page = signed_in(console)
    with page.expect_console_message(lambda message: "Content Security Policy" in message.text):
        page.evaluate(
            """() => {
              const script = document.createElement("script");
              script.textContent = "window.__inlineRan = true";
              document.body.append(script);
            }"""
        )
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.__inlineRan === undefined")
    assert any("script-src" in violation for violation in console.violations())
    page.evaluate("window.__cspViolations = []")
    console.watch.csp_messages.clear()


# Sign-in and roles.


def test_sign_in_refuses_a_wrong_token_and_keeps_the_session_in_the_tab(console: Console) -> None:
    console.open("/overview")
    page = console.page
    page.fill("#token", "WRONG")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("That token was refused.")
    page.fill("#token", "TOKEN_A")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who .actor")).to_have_text("alice")
    expect(page.locator("#role")).to_have_text("editor")
    page.reload()
    expect(page.locator("#who .actor")).to_have_text("alice")
    assert page.context.cookies() == [], "no cookie carries authority"
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#token")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


# Fleet and agents.


def test_the_overview_and_the_agents_show_registered_agents(console: Console, agents: JsonApi) -> None:
    for agent_id, role in (("fleet-web-1", "web"), ("fleet-web-2", "web"), ("fleet-db-1", "db")):
        agents.heartbeat(agent_id, team="fleet", role=role)
    agents.statistics("fleet-db-1", 0.25, 1024, disk="ok")
    agents.alarm("fleet-db-1", "READ_LOG_DELAY_ALARM", "slow.log is 35 MB behind")
    page = signed_in(console)
    online = page.locator("[data-stat='Agents online'] .stat-value")
    expect(online).not_to_have_text("0")
    assert int(online.inner_text()) >= 3
    expect(page.locator("table.counts tr[data-name='alpha']")).to_be_visible()
    console.go("/agents")
    for agent_id in ("fleet-web-1", "fleet-web-2", "fleet-db-1"):
        expect(page.locator(f"tr[data-agent='{agent_id}']")).to_contain_text("ONLINE")
    page.select_option("#filter-status", "OFFLINE")
    expect(page.locator("tr[data-agent='fleet-db-1']")).to_have_count(0)
    page.select_option("#filter-status", "ONLINE")
    page.get_by_role("link", name="fleet-db-1", exact=True).click()
    expect(page.locator("h1.agent-id")).to_have_text("fleet-db-1")
    expect(page.locator(".chips")).to_contain_text("role=db")
    expect(page.locator("[data-section='Running details']")).to_contain_text("diskok")
    memory = page.locator("[data-section='Running details'] .size")
    expect(memory).to_have_text("1 KiB")
    expect(memory).to_have_attribute("title", "1,024 bytes")
    expect(page.locator("table.alarms")).to_contain_text("slow.log is 35 MB behind")


def test_the_overview_ignores_an_answer_that_arrives_after_a_newer_request(console: Console) -> None:
    page = hold_answers(console, "GetFleetSummary")
    signed_in(console)
    online = page.locator("[data-stat='Agents online'] .stat-value")
    refresh = page.get_by_role("button", name="Refresh")
    answers_out_of_order(page, refresh.click, online, fleet_summary)


def fleet_summary(online: int) -> dict[str, Any]:
    return {"code": "Accept", "agents": {"online": str(online), "offline": "0"}}


def hold_answers(console: Console, rpc: str) -> Page:
    """Hold the answers of `rpc` for the test to give (HOLD_ANSWERS), and stop the page's clock, so that
    the view's own timer asks nothing behind the test's back."""
    page = console.page
    page.clock.install()
    page.add_init_script(script=f"window.__hold = {json.dumps(rpc)};{HOLD_ANSWERS}")
    return page


def answers_out_of_order(page: Page, ask_again: Callable[[], None], shown: Locator, answer: AnswerOf) -> None:
    """The view asked as it opened; it asks again; the newer request is answered first, then the older one:
    the older answer is dropped, a success or a failure alike."""

    def sent(count: int) -> None:
        page.wait_for_function("count => window.__held.length === count", arg=count)

    def give(index: int, body: dict[str, Any]) -> None:
        page.evaluate("([index, body]) => window.__held[index](body)", [index, body])

    sent(1)
    ask_again()
    sent(2)
    give(1, answer(7))
    expect(shown).to_have_text("7")
    give(0, answer(99))
    page.wait_for_function("() => window.__read === 2")
    expect(shown).to_have_text("7")
    ask_again()
    sent(3)
    ask_again()
    sent(4)
    give(3, answer(8))
    expect(shown).to_have_text("8")
    give(2, {"code": "InternalServerError", "message": "an old failure"})
    page.wait_for_function("() => window.__read === 4")
    expect(shown).to_have_text("8")
    expect(page.get_by_role("alert")).to_have_count(0)


def test_the_server_filters_and_pages_the_agents_table(browser: Browser, tmp_path: Path) -> None:
    """More agents than a page, the offline ones last in id order: a filter applied to the page shown would
    find none of them; the server's filter finds them all, and pages what matches (other-1, online but of
    another group, would sort onto the second page)."""
    store = tmp_path / "store.db"
    with running_server(f"sqlite:///{store}") as server:
        agents = JsonApi(server.http_port)
        for number in range(1, 31):
            agents.heartbeat(f"on-{number:02}", team="paged")
        for number in range(1, 4):
            agents.heartbeat(f"zz-off-{number}", team="paged")
        agents.heartbeat("other-1", team="other")
    database = sqlite3.connect(store)
    with database:  # silent for an hour: OFFLINE once the server starts again
        database.execute(
            "UPDATE agents SET latest_heartbeat_time = latest_heartbeat_time - 3600"
            " WHERE agent_id LIKE 'zz-off-%'"
        )
    database.close()
    with running_server(f"sqlite:///{store}", user_token=TOKENS) as server:
        JsonApi(server.http_port, "TOKEN_A").group("paged", team="paged")
        with opened_console(browser, server) as console:
            page = signed_in(console)
            rows = page.locator("table.agents tbody tr[data-agent]")
            pager = page.locator(".pager")
            console.go("/agents?group=paged&size=25")
            expect(rows.first).to_have_attribute("data-agent", "on-01")
            page.select_option("#filter-status", "OFFLINE")
            expect(rows).to_have_count(3)
            assert agent_ids(rows) == ["zz-off-1", "zz-off-2", "zz-off-3"]
            assert "status=OFFLINE" in page.url
            expect(pager.get_by_role("button", name="Next →")).to_be_disabled()
            page.select_option("#filter-status", "ONLINE")
            expect(rows).to_have_count(25)
            assert agent_ids(rows) == [f"on-{number:02}" for number in range(1, 26)]
            expect(pager).to_contain_text("Page 1")
            pager.get_by_role("button", name="Next →").click()
            expect(pager).to_contain_text("Page 2")
            assert agent_ids(rows) == [f"on-{number:02}" for number in range(26, 31)]
            expect(pager.get_by_role("button", name="Next →")).to_be_disabled()
            pager.get_by_role("button", name="← Previous").click()
            expect(pager).to_contain_text("Page 1")
            assert agent_ids(rows) == [f"on-{number:02}" for number in range(1, 26)]
            page.select_option("#filter-protocol", "v2")  # the server filters: none of these speak v2
            expect(page.locator(".pager")).to_have_count(0)
            expect(rows).to_have_count(0)
            assert "protocol=v2" in page.url
            page.select_option("#filter-protocol", "alpha")
            expect(rows).to_have_count(25)


def agent_ids(rows: Locator) -> list[str]:
    return [str(row.get_attribute("data-agent")) for row in rows.all()]


def test_older_alarms_come_once_however_fast_the_clicks(console: Console, agents: JsonApi) -> None:
    agents.heartbeat("alarmed-1", team="alarmed")
    page = hold_answers(console, "ListAlarms")
    signed_in(console)
    console.go("/agents/alarmed-1")
    page.wait_for_function("() => window.__held.length === 1")
    alarms = [{"type": "LOG_PARSE_ALARM", "detail": f"alarm {number}"} for number in range(25)]
    page.evaluate(
        "answer => window.__held[0](answer)", {"code": "Accept", "alarms": alarms[:20], "nextPageToken": "t"}
    )
    rows = page.locator("table.alarms tbody tr")
    expect(rows).to_have_count(20)
    page.get_by_role("button", name="Older alarms").dblclick()
    assert page.evaluate("() => window.__held.length") == 2, "the second click asked for the same page again"
    page.evaluate("answer => window.__held[1](answer)", {"code": "Accept", "alarms": alarms[20:]})
    expect(rows).to_have_count(25)
    expect(page.get_by_role("button", name="Older alarms")).to_have_count(0)


def test_an_editor_deletes_an_agent_with_a_reason(console: Console, agents: JsonApi, alice: JsonApi) -> None:
    agents.heartbeat("gone-1", team="gone")
    page = signed_in(console)
    console.go("/agents/gone-1")
    page.get_by_role("button", name="Delete agent").click()
    dialog = page.locator("dialog.confirm")
    dialog.locator("input.reason").fill("decommissioned")
    dialog.get_by_role("button", name="Delete agent").click()
    expect(page.locator("#flash")).to_contain_text("Deleted agent gone-1.")
    expect(page.locator("tr[data-agent='gone-1']")).to_have_count(0)
    events = alice.call("/User/ListAuditEvents", {"target": "gone-1"})["events"]
    assert [(event["rpc"], event["actor"], event["reason"]) for event in events] == [
        ("DeleteAgent", "alice", "decommissioned")
    ]


def test_agent_text_that_looks_like_html_is_shown_as_text(console: Console, agents: JsonApi) -> None:
    agents.heartbeat(HOSTILE, hostile=HOSTILE)
    agents.alarm(HOSTILE, HOSTILE, f"detail {HOSTILE}")
    page = signed_in(console)
    console.go("/agents")
    expect(page.get_by_role("link", name=HOSTILE, exact=True)).to_be_visible()
    expect(page.locator(".chip", has_text=f"hostile={HOSTILE}")).to_be_visible()
    page.get_by_role("link", name=HOSTILE, exact=True).click()
    expect(page.locator("h1.agent-id")).to_have_text(HOSTILE)
    expect(page.locator(".alarm-detail")).to_have_text(f"detail {HOSTILE}")
    expect(page.locator("table.alarms .badge")).to_have_text(HOSTILE)
    assert page.locator("main img").count() == 0, "the text became an element"


# Groups.


def test_the_group_editor_previews_its_blast_radius_as_tags_are_typed(
    console: Console, agents: JsonApi, alice: JsonApi
) -> None:
    for agent_id, tier in (("radius-1", "front"), ("radius-2", "front"), ("radius-3", "back")):
        agents.heartbeat(agent_id, tier=tier)
    page = signed_in(console)
    console.go("/groups")
    page.get_by_role("button", name="New group").click()
    page.fill("#group-name", "radius")
    page.locator(".tag-name").last.fill("tier")
    page.locator(".tag-value").last.fill("fro")
    matched = page.locator("#preview-matched")
    expect(matched).to_have_text("0")
    page.locator(".tag-value").last.fill("front")
    expect(matched).to_have_text("2")
    expect(page.locator("#preview-added")).to_have_text("+2 joining")
    expect(page.locator("#preview")).to_contain_text("radius-1")
    page.get_by_role("button", name="+ Add tag").click()
    page.locator(".tag-name").last.fill("tier")
    page.locator(".tag-value").last.fill("back")
    expect(matched).to_have_text("3")
    page.get_by_role("button", name="Remove tag").last.click()
    expect(matched).to_have_text("2")
    page.fill("input.reason", "CHG-7 front ends")
    page.get_by_role("button", name="Create group").click()
    expect(page.locator("#flash")).to_contain_text("Created group radius.")
    expect(page.locator("h1")).to_have_text("radius")
    # Editing the saved group: the preview now compares with what it holds.
    page.locator(".tag-value").last.fill("back")
    expect(page.locator("#preview-now")).to_have_text("2 now")
    expect(page.locator("#preview-added")).to_have_text("+1 joining")
    expect(page.locator("#preview-removed")).to_have_text("\u22122 leaving")
    group = alice.call("/User/GetAgentGroup", {"groupName": "radius"})["agentGroup"]
    assert group["tags"] == [{"name": "tier", "value": "front"}], "a preview saves nothing"


# Configs.


def test_an_edit_shows_in_the_history_with_a_diff_and_rolls_back(console: Console, alice: JsonApi) -> None:
    alice.config("edit-me", "a: 1\nb: 2\nc: 3\n", "first")
    page = signed_in(console)
    console.go("/configs")
    page.get_by_role("link", name="edit-me", exact=True).click()
    content = page.locator("#config-content")
    expect(content).to_have_value("a: 1\nb: 2\nc: 3\n")
    content.fill("a: 1\nb: 20\nc: 3\n")
    page.fill("input.reason", "CHG-9 raise b")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("Saved edit-me.")
    expect(page.locator(".page-head .badge").first).to_have_text("version 1")
    page.locator("nav.tabs").get_by_role("link", name="History").click()
    expect(page.locator("tr[data-version='1']")).to_contain_text("CHG-9 raise b")
    expect(page.locator("tr[data-version='1']")).to_contain_text("alice")
    diff = page.locator("#history-diff")
    expect(diff.locator("h2")).to_have_text("Version 0 → version 1")
    expect(diff.locator("tr.removed td.code")).to_have_text("b: 2")
    expect(diff.locator("tr.added td.code")).to_have_text("b: 20")
    page.get_by_role("button", name="Roll back to 0").click()
    dialog = page.locator("dialog.confirm")
    dialog.locator("input.reason").fill("b: 20 breaks parsing")
    dialog.get_by_role("button", name="Roll back to 0").click()
    expect(page.locator("#flash")).to_contain_text("Rolled back to version 0: version 2 is current.")
    expect(page.locator("tr[data-version='2']")).to_contain_text("ROLLBACK")
    expect(page.locator("tr[data-version='2']")).to_contain_text("b: 20 breaks parsing")
    expect(diff.locator("h2")).to_have_text("Version 1 → version 2")
    expect(diff.locator("tr.added td.code")).to_have_text("b: 2")
    # Any two revisions: 0 against 2 are the same content.
    page.locator("tr[data-version='0'] input[name=diff-from]").check()
    expect(diff.locator(".diff-summary")).to_have_text("No differences.")
    assert alice.content("edit-me") == "a: 1\nb: 2\nc: 3\n"


def save_over_a_newer_version(console: Console, alice: JsonApi, name: str) -> Page:
    """Open `name` (x: 1) in the editor, let alice save x: 2 behind its back, save x: 3: a conflict."""
    alice.config(name, "x: 1\n")
    page = signed_in(console)
    console.go(f"/configs/{name}/content")
    content = page.locator("#config-content")
    expect(content).to_have_value("x: 1\n")
    alice.update(name, "x: 2\n", "theirs")
    content.fill("x: 3\n")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".notice.conflict")).to_contain_text("Version conflict: nothing was saved.")
    return page


def test_saving_over_a_newer_version_is_a_clear_conflict(console: Console, alice: JsonApi) -> None:
    page = save_over_a_newer_version(console, alice, "contested")
    conflict = page.locator(".notice.conflict")
    expect(conflict).to_contain_text("You were editing version 0; since then alice saved version 1")
    expect(conflict).to_contain_text('("theirs")')
    expect(page.locator("#config-content")).to_have_value("x: 3\n")
    assert alice.content("contested") == "x: 2\n"
    page.get_by_role("button", name="Compare with the server's version").click()
    expect(page.locator("tr.removed td.code")).to_have_text("x: 2")
    expect(page.locator("tr.added td.code")).to_have_text("x: 3")
    page.get_by_role("button", name="Edit on top of version 1").click()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#flash")).to_contain_text("Saved contested.")
    assert alice.content("contested") == "x: 3\n"


def test_a_comparison_the_server_cannot_give_says_why(console: Console, alice: JsonApi) -> None:
    page = save_over_a_newer_version(console, alice, "vanishing")
    alice.call("/User/DeleteConfig", {"configName": "vanishing"}, "DELETE")
    page.get_by_role("button", name="Compare with the server's version").click()
    expect(page.locator(".compare .notice.error")).to_contain_text("ConfigNotExist")
    expect(page.locator("#flash .notice")).to_have_count(0)
    expect(page.locator("#config-content")).to_have_value("x: 3\n")


def test_sizes_in_bytes_are_shown_as_sizes(console: Console, alice: JsonApi) -> None:
    alice.config("weighty", "a: " + "x" * 1533)
    page = signed_in(console)
    sizes = page.evaluate(
        """async (counts) => {
          const { humanSize } = await import(new URL("dom.js", document.baseURI));
          return counts.map(humanSize);
        }""",
        [0, 1023, 1024, 1536, 1048575, 180 * 2**20, 35.4 * 2**20, 5 * 2**30],
    )
    assert sizes == ["0 B", "1023 B", "1 KiB", "1.5 KiB", "1 MiB", "180 MiB", "35.4 MiB", "5 GiB"]
    console.go("/configs")
    listed = page.locator("table.configs tr", has_text="weighty").locator(".size")
    expect(listed).to_have_text("1.5 KiB")
    expect(listed).to_have_attribute("title", "1,536 bytes")
    listed.locator("xpath=ancestor::tr").get_by_role("link", name="weighty").click()
    typed = page.locator("#config-size .size")
    expect(typed).to_have_text("1.5 KiB")
    page.locator("#config-content").fill("\u00e9" * 600)  # two bytes each in UTF-8
    expect(typed).to_have_text("1.2 KiB")
    expect(typed).to_have_attribute("title", "1,200 bytes")


def test_the_rollout_moves_when_an_agent_fetches(console: Console, alice: JsonApi, agents: JsonApi) -> None:
    alice.group("rollout", rollout="yes")
    alice.config("rolled", "r: 1\n")
    alice.apply("rolled", "rollout")
    agents.heartbeat("rollout-1", rollout="yes")
    agents.heartbeat("rollout-2", rollout="yes")
    page = signed_in(console)
    console.go("/configs/rolled/rollout")

    def stat(name: str) -> Any:
        return page.locator(f"[data-stat={name}] .stat-value")

    expect(stat("targeted")).to_have_text("2")
    expect(stat("current")).to_have_text("0")
    expect(stat("pending")).to_have_text("2")
    expect(page.locator("ul.lagging")).to_contain_text("rollout-1")
    agents.fetch("rollout-1", {})  # gets the config...
    agents.fetch("rollout-1", {"rolled": 0})  # ...and reports holding it
    page.get_by_role("button", name="Refresh").click()
    expect(stat("current")).to_have_text("1")
    expect(stat("pending")).to_have_text("1")
    expect(page.locator("#rollout-headline")).to_have_text("1 of 2 targeted agents hold version 0.")
    expect(page.locator("ul.lagging li")).to_have_text(["rollout-2"])
    page.locator("nav.tabs").get_by_role("link", name="Groups").click()
    expect(page.locator("table.applied")).to_contain_text("rollout")


def test_the_rollout_ignores_an_answer_that_arrives_after_a_newer_request(
    console: Console, alice: JsonApi
) -> None:
    alice.config("polled", "p: 1\n")
    page = hold_answers(console, "GetConfigStatus")
    signed_in(console)
    console.go("/configs/polled/rollout")
    targeted = page.locator("[data-stat=targeted] .stat-value")
    answers_out_of_order(page, lambda: page.locator("#rollout-refresh").click(), targeted, rollout_status)


def rollout_status(agents: int) -> dict[str, Any]:
    return {
        "code": "Accept",
        "configVersion": "0",
        "agentsTargeted": str(agents),
        "agentsPending": str(agents),
    }


def test_create_a_config_then_apply_and_remove_it_with_reasons(console: Console, alice: JsonApi) -> None:
    alice.group("bind", bind="yes")
    page = signed_in(console)
    console.go("/configs")
    page.get_by_role("button", name="New config").click()
    page.fill("#config-name", "bound")
    page.select_option("#config-kind", "INSTANCE")
    page.fill("#config-content", '{"cpu_usage_limit": 0.4}')
    page.fill("input.reason", "CHG-10")
    page.get_by_role("button", name="Create config").click()
    expect(page.locator("#flash")).to_contain_text("Created bound (version 0).")
    expect(page.locator(".page-head")).to_contain_text("INSTANCE")
    page.locator("nav.tabs").get_by_role("link", name="Groups").click()
    page.get_by_label("The group to apply").select_option("bind")
    page.get_by_role("button", name="Apply", exact=True).click()
    dialog = page.locator("dialog.confirm")
    dialog.locator("input.reason").fill("CHG-11")
    dialog.get_by_role("button", name="Apply").click()
    expect(page.locator("#flash")).to_contain_text("Applied bound to bind.")
    expect(page.locator("table.applied")).to_contain_text("bind")
    page.get_by_role("button", name="Remove").click()
    page.locator("dialog.confirm input.reason").fill("CHG-12")
    page.locator("dialog.confirm").get_by_role("button", name="Remove").click()
    expect(page.locator("#flash")).to_contain_text("Removed bound from bind.")
    expect(page.locator("table.applied td.empty")).to_be_visible()
    events = alice.call("/User/ListAuditEvents", {"target": "bound"})["events"]
    reasons = {event["rpc"]: event["reason"] for event in events}
    assert reasons == {
        "CreateConfig": "CHG-10",
        "ApplyConfigToAgentGroup": "CHG-11",
        "RemoveConfigFromAgentGroup": "CHG-12",
    }


# Viewer.


def test_a_viewer_sees_no_write_controls(console: Console, alice: JsonApi, agents: JsonApi) -> None:
    alice.group("viewed", viewed="yes")
    alice.config("seen", "s: 1\n")
    alice.update("seen", "s: 2\n")
    alice.apply("seen", "viewed")
    agents.heartbeat("viewed-1", viewed="yes")
    page = signed_in(console, "TOKEN_B")
    expect(page.locator("#role")).to_have_text("viewer")
    pages = {
        "/overview": "[data-stat='Agents online'] .stat-value",
        "/agents": "tr[data-agent='viewed-1']",
        "/agents/viewed-1": "h1.agent-id",
        "/groups": "tr[data-group='viewed']",
        "/groups/viewed": "table.applied",
        "/configs": "table.configs",
        "/configs/seen/content": "#config-content-view",
        "/configs/seen/history": "#history-diff table.diff-lines",
        "/configs/seen/rollout": "[data-stat=targeted]",
        "/configs/seen/groups": "table.applied",
        "/audit": "table.audit",
        "/new-group": ".notice.error",
        "/new-config": ".notice.error",
    }
    for route, ready in pages.items():
        console.go(route)
        expect(page.locator(ready).first).to_be_visible()
        expect(page.locator("main")).not_to_have_attribute("aria-busy", "true")
        assert page.locator("[data-write]").count() == 0, f"{route} shows write controls to a viewer"
        assert page.get_by_role("button", name=WRITE_BUTTONS).count() == 0, f"{route} shows a write button"


# Audit.


def test_the_audit_log_filters_by_target_and_actor(console: Console, alice: JsonApi) -> None:
    alice.config("audited", "a: 1\n", "CHG-21 first")
    alice.update("audited", "a: 2\n", "CHG-22 second")
    viewer = JsonApi(alice.http.port, "TOKEN_B")
    refused = viewer.send("/User/DeleteConfig", {"configName": "audited"}, "DELETE")
    assert refused["code"] == "PermissionDenied"
    page = signed_in(console)
    console.go("/audit")
    page.fill("#audit-target", "audited")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.audit tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("bob")
    expect(rows.nth(0)).to_contain_text("PermissionDenied")
    expect(rows.nth(1)).to_contain_text("CHG-22 second")
    expect(rows.nth(2)).to_contain_text("CreateConfig")
    assert "target=audited" in page.url
    page.fill("#audit-actor", "alice")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    page.get_by_role("link", name="audited").first.click()
    expect(page.locator("#config-content")).to_have_value("a: 2\n")


def test_the_audit_log_pages_older_and_newer(console: Console, alice: JsonApi) -> None:
    alice.config("busy", "n: 0\n", "n=0")
    for number in range(1, 55):
        alice.update("busy", f"n: {number}\n", f"n={number}")
    page = signed_in(console)
    console.go("/audit?target=busy")
    rows = page.locator("table.audit tbody tr")
    pager = page.locator(".pager")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("n=54")
    expect(pager).to_contain_text("Page 1")
    expect(pager.get_by_role("button", name="← Newer")).to_be_disabled()
    pager.get_by_role("button", name="Older →").click()
    expect(rows).to_have_count(5)
    expect(rows.first).to_contain_text("n=4")
    expect(rows.last).to_contain_text("n=0")
    expect(pager).to_contain_text("Page 2")
    expect(pager.get_by_role("button", name="Older →")).to_be_disabled()
    pager.get_by_role("button", name="← Newer").click()
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text("n=54")
