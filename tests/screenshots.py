"""Screenshots of the web console over a small demo fleet: `python -m tests.screenshots` writes
docs/console/*.png at 1280x800.

The fleet is real: a server on free loopback ports (SQLite in a temporary directory, a v1 listener), groups
and configs written through the User API with a history of edits and a rollback, alpha agents through the
Agent API (statistics, alarms, some holding old versions), LoongCollector (v2) and iLogtail (v1) simulators
from tests.agents, and agents gone offline. Chromium is Debian's (`apt-get install chromium`).

Also the helpers the console's tests share: a JSON client of the API, and the browser.
"""

import json
import logging
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from core.model import FleetPolicy
from tests.agents import ILogtail18, ILogtail20, LoongCollectorV2
from tests.support import HttpClient, ServerThread, running_server

OUT = Path(__file__).resolve().parent.parent / "docs" / "console"
VIEWPORT = {"width": 1280, "height": 800}
EDITOR_TOKEN = "demo-editor-token"
VIEWER_TOKEN = "demo-viewer-token"
OFFLINE_AFTER = 3.0
"""Seconds without a heartbeat before an agent shows offline: short, so that the demo has offline agents."""


def chromium() -> str | None:
    """Debian's Chromium, if installed (Playwright's own browser downloads are not used)."""
    return shutil.which("chromium")


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])


class JsonApi:
    """The HTTP API with JSON bodies (proto3 JSON), as the console and curl use it."""

    def __init__(self, port: int, token: str = "") -> None:
        self.http = HttpClient(port)
        self.token = token

    def call(self, path: str, body: dict[str, Any], method: str = "POST") -> dict[str, Any]:
        """Call and require Accept; the decoded answer."""
        answer = self.send(path, body, method)
        assert answer.get("code") == "Accept", f"{path}: {answer}"
        return answer

    def send(self, path: str, body: dict[str, Any], method: str = "POST") -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        reply = self.http.request(method, path, json.dumps(body).encode(), headers)
        decoded: dict[str, Any] = json.loads(reply.body)
        return decoded

    # The calls the demo and the tests make most.

    def group(self, name: str, description: str = "", reason: str = "", **tags: str) -> None:
        tag_list = [{"name": key, "value": value} for key, value in tags.items()]
        group = {"groupName": name, "description": description, "tags": tag_list}
        self.call("/User/CreateAgentGroup", {"agentGroup": group, "reason": reason})

    def config(self, name: str, content: str, reason: str = "", kind: str = "PIPELINE") -> None:
        detail = {"configName": name, "content": content, "kind": kind, "agentType": "ilogtail"}
        self.call("/User/CreateConfig", {"configDetail": detail, "reason": reason})

    def update(self, name: str, content: str, reason: str = "") -> None:
        detail = {"configName": name, "content": content}
        self.call("/User/UpdateConfig", {"configDetail": detail, "reason": reason}, "PUT")

    def rollback(self, name: str, version: int, reason: str = "") -> None:
        body = {"configName": name, "toVersion": str(version), "reason": reason}
        self.call("/User/RollbackConfig", body, "PUT")

    def content(self, name: str) -> str:
        detail: dict[str, Any] = self.call("/User/GetConfig", {"configName": name})["configDetail"]
        return str(detail["content"])

    def apply(self, config: str, group: str, reason: str = "") -> None:
        body = {"configName": config, "groupName": group, "reason": reason}
        self.call("/User/ApplyConfigToAgentGroup", body, "PUT")

    def heartbeat(self, agent_id: str, **tags: str) -> None:
        body = {"agentId": agent_id, "agentType": "alpha", "agentVersion": "1.4.2", "tags": tags}
        body.update(ip=f"10.0.{len(agent_id) % 7}.{sum(map(ord, agent_id)) % 250}", runningStatus="running")
        self.call("/Agent/HeartBeat", body)

    def fetch(self, agent_id: str, held: dict[str, int]) -> dict[str, Any]:
        versions = {name: str(version) for name, version in held.items()}
        return self.call("/Agent/GetConfigList", {"agentId": agent_id, "configVersions": versions})

    def alarm(self, agent_id: str, kind: str, detail: str) -> None:
        self.call("/Agent/Alarm", {"agentId": agent_id, "type": kind, "detail": detail})

    def statistics(self, agent_id: str, cpu: float, memory: int, **extras: str) -> None:
        details = {"cpu": cpu, "memory": str(memory), "extras": extras}
        self.call("/Agent/RunningStatistics", {"agentId": agent_id, "runningDetails": details})


class RealClock:
    """The simulators' clock: the wall clock (the demo runs in real time)."""

    def now(self) -> float:
        return time.time()


NGINX_V0 = """inputs:
  - Type: input_file
    FilePaths:
      - /var/log/nginx/access.log
processors:
  - Type: processor_parse_regex_native
    SourceKey: content
    Regex: '(\\S+) - - \\[([^]]+)] "(\\w+) ([^"]+)" (\\d+) (\\d+)'
    Keys: [ip, time, method, url, status, size]
flushers:
  - Type: flusher_sls
    Logstore: nginx-access
"""
NGINX_V1 = NGINX_V0.replace(
    "      - /var/log/nginx/access.log\n",
    "      - /var/log/nginx/access.log\n      - /var/log/nginx/access.log.1\n",
)
NGINX_V2 = NGINX_V1.replace(
    "    Keys: [ip, time, method, url, status, size]\n",
    "    Keys: [ip, time, method, url, status, size, referer, agent]\n"
    "    KeepingSourceWhenParseFail: false\n",
)
NGINX_V3 = NGINX_V2.replace("KeepingSourceWhenParseFail: false", "KeepingSourceWhenParseFail: true")
APP_LOG = json.dumps(
    {
        "inputs": [{"Type": "input_file", "FilePaths": ["/srv/app/logs/*.log"]}],
        "flushers": [{"Type": "flusher_stdout"}],
    },
    indent=2,
)
MYSQL_SLOW = """inputs:
  - Type: input_file
    FilePaths: [/var/lib/mysql/slow.log]
flushers:
  - Type: flusher_stdout
"""
TUNING = json.dumps({"max_bytes_per_sec": 20971520, "cpu_usage_limit": 0.4}, indent=2)


class DemoFleet:
    """The demo: groups, configs with history, agents of each protocol, alarms, and agents gone offline."""

    def __init__(self, server: ServerThread, root: Path) -> None:
        self.server = server
        self.root = root
        self.api = JsonApi(server.http_port, EDITOR_TOKEN)
        self.viewer = JsonApi(server.http_port, VIEWER_TOKEN)
        self.agent_api = JsonApi(server.http_port)
        self.clock = RealClock()
        self.simulated: list[LoongCollectorV2 | ILogtail18 | ILogtail20] = []
        self.alpha: dict[str, dict[str, str]] = {}
        self._stop = threading.Event()

    def build(self) -> None:
        self.catalog()
        self.agents()
        self.activity()

    def catalog(self) -> None:
        api = self.api
        api.group("prod", "every production host", env="prod")
        api.group("web", "front ends", role="web")
        api.group("db", "databases", role="db")
        api.group("canary", "first to get changes", env="canary")
        api.config("nginx-access", NGINX_V0, "CHG-1180 collect nginx access logs")
        api.update("nginx-access", NGINX_V1, "CHG-1201 include the rotated file")
        api.update("nginx-access", NGINX_V2, "CHG-1207 parse referer and user agent")
        api.rollback("nginx-access", 1, "CHG-1207 drops lines the regex does not match")
        api.update("nginx-access", NGINX_V3, "CHG-1211 parse referer and user agent, keep unmatched lines")
        api.config("app-log", APP_LOG, "CHG-1190 application logs")
        api.config("mysql-slow", MYSQL_SLOW, "CHG-1192 slow queries")
        api.config("tuning", TUNING, "CHG-1195 cap collector bandwidth", kind="INSTANCE")
        api.apply("nginx-access", "web", "CHG-1180")
        api.apply("app-log", "prod", "CHG-1190")
        api.apply("mysql-slow", "db", "CHG-1192")
        api.apply("tuning", "prod", "CHG-1195")

    def agents(self) -> None:
        for index in range(1, 5):
            self.alpha[f"web-{index:02}"] = {"env": "prod", "role": "web"}
        self.alpha.update({"db-01": {"env": "prod", "role": "db"}, "db-02": {"env": "prod", "role": "db"}})
        self.alpha["canary-01"] = {"env": "canary", "role": "web"}
        for agent_id, tags in self.alpha.items():
            self.agent_api.heartbeat(agent_id, **tags)
        # These beat once and never again: they show offline after OFFLINE_AFTER seconds.
        self.agent_api.heartbeat("web-05", env="prod", role="web")
        self.agent_api.heartbeat("batch-01", env="prod", role="batch")
        assert self.server.server is not None and self.server.server.http_v1 is not None
        v1_port = self.server.server.http_v1.port
        for index in range(1, 4):
            ip = f"10.0.20.{index}"
            self.simulated.append(
                LoongCollectorV2(
                    self.server.http_port, self.root / ip, self.clock, ip, {"env": "prod", "role": "web"}
                )
            )
        self.simulated.append(
            ILogtail18(v1_port, self.root / "il18", self.clock, "10.0.30.1", {"env": "prod", "role": "db"})
        )
        self.simulated.append(
            ILogtail20(v1_port, self.root / "il20", self.clock, "10.0.30.2", {"env": "prod", "role": "db"})
        )
        self.beat()

    def activity(self) -> None:
        """Who holds what (a rollout in progress), statistics, and alarms."""
        api = self.agent_api
        current = {"nginx-access": 4, "app-log": 0}
        api.fetch("web-01", current)
        api.fetch("web-02", current)
        api.fetch("web-03", {"nginx-access": 3, "app-log": 0})
        api.fetch("canary-01", {"nginx-access": 4})
        api.fetch("db-01", {"mysql-slow": 0, "app-log": 0})
        for index, agent_id in enumerate(self.alpha):
            api.statistics(
                agent_id, 0.05 + index / 40, (180 + 37 * index) * 1024 * 1024, open_files=str(40 + index)
            )
        api.alarm("web-02", "LOG_PARSE_ALARM", "parse regex failed: 12 lines of access.log kept raw")
        api.alarm("web-02", "SEND_QUOTA_EXCEED_ALARM", "nginx-access: write quota exceeded, retrying")
        api.alarm("db-01", "READ_LOG_DELAY_ALARM", "/var/lib/mysql/slow.log is 35 MB behind")
        api.alarm("canary-01", "LOG_PARSE_ALARM", "parse regex failed: 3 lines kept raw")
        # The on-call viewer tries a write: refused, and the audit log shows it.
        refused = self.viewer.send("/User/DeleteConfig", {"configName": "mysql-slow"}, "DELETE")
        assert refused["code"] == "PermissionDenied", refused

    def beat(self) -> None:
        """One period of every live agent: alpha heartbeats, v2 scan and heartbeat, v1 heartbeat and fetch."""
        for agent_id, tags in self.alpha.items():
            self.agent_api.heartbeat(agent_id, **tags)
        for agent in self.simulated:
            agent.cycle()

    @contextmanager
    def beating(self) -> Iterator[None]:
        """Keep the live agents online (well within OFFLINE_AFTER) while the screenshots are taken."""
        thread = threading.Thread(target=self._beat_until_stopped, name="demo-agents", daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join(10)

    def _beat_until_stopped(self) -> None:
        while not self._stop.wait(OFFLINE_AFTER / 4):
            self.beat()

    def wait_for_offline(self, count: int) -> None:
        deadline = time.monotonic() + 4 * OFFLINE_AFTER
        while time.monotonic() < deadline:
            summary = self.api.call("/User/GetFleetSummary", {})
            if int(summary["agents"]["offline"]) >= count:
                return
            time.sleep(0.2)
        raise RuntimeError("the demo's silent agents did not go offline")


def sign_in(page: Page, base: str, token: str) -> None:
    page.goto(f"{base}/ui/")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#role")


def shoot(page: Page, base: str) -> list[Path]:
    """Visit each main page and write its PNG; the paths written."""
    written: list[Path] = []

    def snap(name: str, hash_route: str, ready: str) -> None:
        page.goto(f"{base}/ui/#{hash_route}")
        page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        path = OUT / f"{name}.png"
        page.screenshot(path=str(path))
        written.append(path)

    snap("overview", "/overview", "[data-stat='Agents online'] .stat-value")
    snap("agents", "/agents", "table.agents tbody tr[data-agent]")
    snap("agent", "/agents/web-02", "table.alarms tbody tr td .alarm-detail")
    snap("groups", "/groups", "table.groups tbody tr[data-group]")
    page.goto(f"{base}/ui/#/groups/web")
    page.wait_for_selector("#preview-matched")
    page.click("text=+ Add tag")
    page.locator(".tag-row .tag-name").last.fill("role")
    page.locator(".tag-row .tag-value").last.fill("batch")
    page.wait_for_selector("#preview-added:has-text('+1 joining')")
    path = OUT / "group-preview.png"
    page.screenshot(path=str(path))
    written.append(path)
    page.goto(f"{base}/ui/#/configs/nginx-access/history")
    page.wait_for_selector("table.diff-lines")
    # What the fix changed against the version that dropped lines: 2 → 4.
    page.locator("tr[data-version='2'] input[name=diff-from]").check()
    page.wait_for_selector("#history-diff h2:has-text('Version 2 → version 4')")
    path = OUT / "config-history.png"
    page.screenshot(path=str(path), full_page=False)
    written.append(path)
    snap("config-editor", "/configs/nginx-access/content", "#config-content")
    snap("rollout", "/configs/nginx-access/rollout", "[data-stat=targeted] .stat-value")
    snap("audit", "/audit", "table.audit tbody tr")
    return written


def main() -> int:
    logging.basicConfig(level=logging.ERROR)  # the demo's alarms are logged as warnings: not news here
    if chromium() is None:
        print("chromium is not installed: apt-get install -y chromium", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        overrides: dict[str, Any] = {
            "user_token": f"alice editor {EDITOR_TOKEN}\noncall viewer {VIEWER_TOKEN}\n",
            "v1_http_port": 0,
            "policy": FleetPolicy(offline_after=OFFLINE_AFTER),
        }
        with running_server(f"sqlite:///{root / 'demo.db'}", **overrides) as server:
            demo = DemoFleet(server, root)
            demo.build()
            with demo.beating():
                demo.wait_for_offline(2)
                base = f"http://127.0.0.1:{server.http_port}"
                with sync_playwright() as playwright:
                    browser = launch(playwright)
                    page = browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
                    sign_in(page, base, EDITOR_TOKEN)
                    for path in shoot(page, base):
                        print(path)
                    browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
