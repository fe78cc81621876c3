"""configserverctl as an operator runs it: the installed command, in a child process, against a real server
on each store.

1. The catalog: groups, configs, bindings; tables, -o json (the API's answer) and -o yaml; refusals exit 1
   with the server's code on stderr (a viewer's write: PermissionDenied; a stale --expected-version:
   ConfigVersionConflict); history, the diff of two revisions, rollback, the audit trail, whoami.
2. The fleet: agents filtered by group and status with every page followed, alarms, the rollout status,
   the summary, a group preview, deleting an agent.
3. Config as code: export, edit, diff -f, apply -f, apply -f again (nothing changes), --prune (never the
   default group), a bad directory (exit 2, nothing sent).
4. apply -f against a concurrent update made while its plan awaits confirmation: ConfigVersionConflict,
   the other update kept.
5. No server (exit 3), bad usage (exit 2), --help on every command, shell completion.

Commands that only read run side by side (the child processes start in parallel). Nothing waits on the
clock: an agent is made offline by aging its heartbeat in the store between two servers.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import yaml
from click.testing import CliRunner

from configserverctl.cli import main
from configserverctl.client import Api
from tests.stores import Backend
from tests.support import HttpClient, free_port, running_server

CTL = str(Path(sys.executable).with_name("configserverctl"))
TOKENS = "alice editor alice-token\nbob viewer bob-token"
NGINX = "inputs:\n  - Type: input_file\n    FilePaths: [/var/log/nginx/access.log]\n"
NGINX_2 = (
    "inputs:\n  - Type: input_file\n    FilePaths: [/var/log/nginx/access.log, /var/log/nginx/error.log]\n"
)


@dataclass
class Run:
    code: int
    out: str
    err: str


class Ctl:
    """The installed command pointed at one server (CONFIGSERVER_URL), with one token or none."""

    def __init__(self, port: int, token: str | None = None, **env: str) -> None:
        self.env = {**os.environ, "CONFIGSERVER_URL": f"http://127.0.0.1:{port}", "COLUMNS": "200", **env}
        self.env.pop("CONFIGSERVER_TOKEN_FILE", None)
        self.env.pop("CONFIGSERVER_TOKEN", None)
        if token is not None:
            self.env["CONFIGSERVER_TOKEN"] = token

    def start(self, *args: str) -> "subprocess.Popen[str]":
        pipe = subprocess.PIPE
        return subprocess.Popen([CTL, *args], env=self.env, stdin=pipe, stdout=pipe, stderr=pipe, text=True)

    def many(self, *commands: list[str]) -> list[Run]:
        """Run the commands side by side; their outcomes in order."""
        processes = [self.start(*command) for command in commands]
        outputs = [process.communicate(timeout=30) for process in processes]
        return [Run(process.returncode, *output) for process, output in zip(processes, outputs, strict=True)]

    def run(self, *args: str) -> Run:
        return self.many(list(args))[0]

    def ok(self, *args: str) -> str:
        run = self.run(*args)
        assert run.code == 0, f"{args}: exit {run.code}: {run.err}"
        return run.out

    def refused(self, code: str, *args: str) -> str:
        """The command fails with exit 1, the server's `code` on stderr: the error line."""
        run = self.run(*args)
        assert run.code == 1, f"{args}: exit {run.code}: {run.out} {run.err}"
        assert f"Error: {code}: " in run.err, run.err
        return run.err


def oks(runs: list[Run]) -> list[str]:
    for run in runs:
        assert run.code == 0, run.err
    return [run.out for run in runs]


def answer(text: str) -> Any:
    loaded = json.loads(text)
    assert loaded["code"] == "Accept"
    return loaded


def rows(table: str) -> list[list[str]]:
    """A table's lines split on spaces (a cell holding a space, such as a time, makes two)."""
    return [line.split() for line in table.splitlines()]


def agent_call(port: int, rpc: str, **fields: Any) -> None:
    """An alpha agent's call (HeartBeat registers it), in JSON."""
    body = json.dumps(fields).encode()
    reply = HttpClient(port).request("POST", f"/Agent/{rpc}", body, {"Content-Type": "application/json"})
    assert reply.status == 200, reply.body


# 1. The catalog.


def test_catalog_history_and_refusals(store: Backend, tmp_path: Path) -> None:
    (tmp_path / "v0.yaml").write_text(NGINX)
    (tmp_path / "v1.yaml").write_text(NGINX_2)
    with running_server(store.url, user_token=TOKENS) as server:
        alice, bob = Ctl(server.http_port, "alice-token"), Ctl(server.http_port, "bob-token")
        alice.ok("create", "group", "prod", "--tag", "env=prod", "--description", "first", "--reason", "C-1")
        assert (
            alice.ok("update", "group", "prod", "--description", "production").strip() == "group/prod updated"
        )
        created = alice.ok("create", "config", "nginx", "-f", str(tmp_path / "v0.yaml"), "--reason", "C-1")
        assert created.strip() == "config/nginx created"
        assert "applied to group/prod" in alice.ok("apply", "nginx", "--group", "prod", "--reason", "C-1")

        assert "The token bob is a viewer's" in bob.refused("PermissionDenied", "delete", "config", "nginx")
        v1 = str(tmp_path / "v1.yaml")
        assert "at version 0, not 7" in alice.refused(
            "ConfigVersionConflict", "update", "config", "nginx", "-f", v1, "--expected-version", "7"
        )
        alice.refused("ConfigNotExist", "get", "config", "absent")
        (tmp_path / "token").write_text("bob-token\n")
        anonymous, from_file = Ctl(server.http_port).many(
            ["whoami"], ["--token-file", str(tmp_path / "token"), "whoami"]
        )
        assert anonymous.code == 1 and anonymous.err.startswith(
            "Error: Unauthenticated: A valid bearer token"
        )
        assert anonymous.err.endswith("Set CONFIGSERVER_TOKEN, or give --token-file.\n")
        assert ["actor", "bob"] in rows(from_file.out)
        updated = alice.run(
            "update", "config", "nginx", "-f", v1, "--expected-version", "0", "--reason", "C-2", "-o", "json"
        )
        assert updated.code == 0 and answer(updated.out)["message"]

        configs, configs_json, config_yaml, groups, bound, applied, whoami, history, revisions, audit = oks(
            alice.many(
                ["get", "configs"],
                ["get", "configs", "-o", "json"],
                ["get", "config", "nginx", "-o", "yaml"],
                ["get", "groups"],
                ["get", "groups", "--config", "nginx", "-o", "json"],
                ["get", "configs", "--group", "prod", "-o", "yaml"],
                ["whoami"],
                ["history", "nginx"],
                ["diff", "nginx", "0", "1"],
                ["audit", "--actor", "bob", "-o", "json"],
            )
        )
        assert rows(configs)[0] == ["NAME", "KIND", "AGENT", "TYPE", "VERSION", "UPDATED", "DESCRIPTION"]
        assert rows(configs)[1][:3] == ["nginx", "PIPELINE", "1"]
        assert [(c["configName"], c["version"]) for c in answer(configs_json)["configDetails"]] == [
            ("nginx", "1")
        ]
        assert yaml.safe_load(config_yaml)["configDetail"]["content"] == NGINX_2
        assert ["prod", "env=prod", "production"] in rows(groups)
        assert answer(bound)["agentGroupNames"] == ["prod"]
        assert yaml.safe_load(applied)["configNames"] == ["nginx"]
        assert ["actor", "alice"] in rows(whoami) and ["role", "editor"] in rows(whoami)
        assert [r[:2] + r[-2:] for r in rows(history)[1:]] == [
            ["1", "UPDATE", "alice", "C-2"],
            ["0", "CREATE", "alice", "C-1"],
        ]
        assert revisions.splitlines()[:2] == ["--- nginx@0", "+++ nginx@1"]
        assert "-    FilePaths: [/var/log/nginx/access.log]" in revisions.splitlines()
        assert (
            "+    FilePaths: [/var/log/nginx/access.log, /var/log/nginx/error.log]" in revisions.splitlines()
        )
        assert [(e["rpc"], e["code"]) for e in answer(audit)["events"]] == [
            ("DeleteConfig", "PermissionDenied")
        ]

        rolled = alice.ok("rollback", "nginx", "--to", "0", "--expected-version", "1", "--reason", "C-3")
        assert "as version 2" in rolled
        viewer_reads = bob.many(
            ["get", "config", "nginx", "-o", "json"],
            ["whoami", "-o", "yaml"],
            ["audit", "--target", "nginx", "-o", "json"],
            ["audit", "--target", "nginx", "--limit", "2", "-o", "json"],
        )
        config, who, trail, recent = oks(viewer_reads)
        assert answer(config)["configDetail"]["content"] == NGINX
        assert yaml.safe_load(who)["role"] == "viewer"
        assert [(e["rpc"], e["reason"]) for e in answer(trail)["events"] if e["code"] == "Accept"] == [
            ("RollbackConfig", "C-3"),
            ("UpdateConfig", "C-2"),
            ("ApplyConfigToAgentGroup", "C-1"),
            ("CreateConfig", "C-1"),
        ]
        assert answer(recent)["events"] == answer(trail)["events"][:2] and answer(recent)["nextPageToken"]

        alice.refused("BadRequest", "delete", "config", "nginx")  # still applied to prod
        alice.ok("remove", "nginx", "--group", "prod", "--reason", "C-4")
        alice.ok("delete", "config", "nginx", "--expected-version", "2", "--reason", "C-4")
        alice.ok("delete", "group", "prod", "--reason", "C-4")
        assert answer(alice.ok("get", "configs", "-o", "json"))["configDetails"] == []


# 2. The fleet.


def test_agents_alarms_and_fleet_views(store: Backend) -> None:
    with running_server(store.url) as server:
        for agent_id, env in (("host-1", "prod"), ("host-2", "prod"), ("host-3", "prod"), ("host-4", "dev")):
            agent_call(server.http_port, "HeartBeat", agentId=agent_id, ip="10.0.0.1", tags={"env": env})
        agent_call(server.http_port, "Alarm", agentId="host-1", type="LOGFILE_PERMISSION", detail="denied")
    store.execute(
        "UPDATE agents SET latest_heartbeat_time = latest_heartbeat_time - 3600 WHERE agent_id = 'host-2'"
    )
    with running_server(store.url) as server:
        ctl = Ctl(server.http_port)
        api = Api(f"http://127.0.0.1:{server.http_port}", None)
        api.call(
            "CreateAgentGroup",
            {"agentGroup": {"groupName": "prod", "tags": [{"name": "env", "value": "prod"}]}},
        )
        api.call("CreateConfig", {"configDetail": {"configName": "nginx", "content": NGINX}})
        api.call("ApplyConfigToAgentGroup", {"configName": "nginx", "groupName": "prod"})
        paged, offline, online, every, v2_only, alarms, alarms_json, status, summary, preview = oks(
            ctl.many(
                ["get", "agents", "--group", "prod", "--page-size", "1", "-o", "json"],
                ["get", "agents", "--offline", "-o", "yaml"],
                ["get", "agents", "--group", "prod", "--online"],
                ["get", "agents"],
                ["get", "agents", "--protocol", "v2", "-o", "json"],
                ["alarms", "--agent", "host-1", "--since", "1h"],
                ["alarms", "--type", "NOPE", "-o", "json"],
                ["status", "nginx", "-o", "json"],
                ["summary", "-o", "json"],
                ["preview", "group", "prod", "--tag", "env=dev", "-o", "json"],
            )
        )
        assert [a["agentId"] for a in answer(paged)["agents"]] == ["host-1", "host-2", "host-3"]
        assert answer(paged)["nextPageToken"] == ""
        assert [(a["agentId"], a["status"]) for a in yaml.safe_load(offline)["agents"]] == [
            ("host-2", "OFFLINE")
        ]
        assert [row[:2] for row in rows(online)] == [
            ["ID", "STATUS"],
            ["host-1", "ONLINE"],
            ["host-3", "ONLINE"],
        ]
        assert [row[0] for row in rows(every)] == ["ID", "host-1", "host-2", "host-3", "host-4"]
        assert answer(v2_only)["agents"] == [], "the server filters by protocol: these are alpha agents"
        assert rows(alarms)[1][2:] == ["host-1", "LOGFILE_PERMISSION", "denied"]
        assert answer(alarms_json)["alarms"] == []
        rollout = answer(status)
        assert (rollout["agentsTargeted"], rollout["agentsOnline"], rollout["agentsPending"]) == (
            "3",
            "2",
            "3",
        )
        assert rollout["laggingAgentIds"] == ["host-1", "host-3", "host-2"]
        assert answer(summary)["agents"] == {"online": "3", "offline": "1"}
        assert answer(summary)["agentsByGroup"]["prod"] == {"online": "2", "offline": "1"}
        blast = answer(preview)
        assert (blast["addedAgentIds"], blast["removedAgentIds"]) == (
            ["host-4"],
            ["host-1", "host-2", "host-3"],
        )

        assert (
            ctl.ok("delete", "agent", "host-4", "--reason", "decommissioned").strip()
            == "agent/host-4 deleted"
        )
        ctl.refused("AgentNotExist", "delete", "agent", "host-4")
        assert [a["agentId"] for a in answer(ctl.ok("get", "agents", "-o", "json"))["agents"]][-1] == "host-3"


# 3. Config as code.


def seed(api: Api) -> None:
    """Groups prod and web; nginx applied to both, app to prod, legacy to none."""
    for name, tag_name, tag_value in (("prod", "env", "prod"), ("web", "app", "web")):
        tags = [{"name": tag_name, "value": tag_value}]
        api.call("CreateAgentGroup", {"agentGroup": {"groupName": name, "description": name, "tags": tags}})
    for name, content in (("nginx", NGINX), ("app", "inputs: []"), ("legacy", "old: true\n")):
        api.call("CreateConfig", {"configDetail": {"configName": name, "content": content}})
    for config, group in (("nginx", "prod"), ("nginx", "web"), ("app", "prod")):
        api.call("ApplyConfigToAgentGroup", {"configName": config, "groupName": group})


def audit_count(api: Api) -> int:
    return len(api.pages("ListAuditEvents", {}, "events", 1000)["events"])


def test_config_as_code(store: Backend, tmp_path: Path) -> None:
    catalog, again = tmp_path / "catalog", tmp_path / "again"
    with running_server(store.url) as server:
        ctl, api = Ctl(server.http_port), Api(f"http://127.0.0.1:{server.http_port}", None)
        seed(api)
        assert ctl.ok("export", str(catalog)).startswith("6 files written")
        files = sorted(str(path.relative_to(catalog)) for path in catalog.rglob("*.yaml"))
        configs, groups = ["app", "legacy", "nginx"], ["default", "prod", "web"]
        assert files == [f"configs/{c}.yaml" for c in configs] + [f"groups/{g}.yaml" for g in groups]
        nginx = yaml.safe_load((catalog / "configs/nginx.yaml").read_text())
        fields = {
            "name": "nginx",
            "kind": "PIPELINE",
            "agentType": "",
            "description": "",
            "groups": ["prod", "web"],
        }
        assert nginx == {**fields, "content": NGINX}
        assert "content: |\n  inputs:\n" in (catalog / "configs/nginx.yaml").read_text()
        assert ctl.ok("diff", "-f", str(catalog)).startswith("No changes")

        edit(catalog / "configs/nginx.yaml", content=NGINX_2)
        edit(catalog / "configs/app.yaml", groups=["web"])
        edit(catalog / "groups/web.yaml", description="the web tier")
        write(
            catalog / "configs/new.yaml",
            {"name": "new", "kind": "INSTANCE", "groups": ["staging"], "content": "x: 1\n"},
        )
        write(
            catalog / "groups/staging.yaml",
            {"name": "staging", "tags": [{"name": "env", "value": "staging"}]},
        )
        (catalog / "configs/legacy.yaml").unlink()
        plan = ctl.ok("diff", "-f", str(catalog))
        assert [line for line in plan.splitlines() if not line.startswith(" ")] == [
            "+ create group staging",
            "~ update group web",
            "+ create config new",
            "~ update config nginx (version 0)",
            "- unbind config app from group prod",
            "+ bind config app to group web",
            "+ bind config new to group staging",
            f"7 changes to {api.url}: 2 create, 2 update, 1 unbind, 2 bind.",
        ]
        assert "    description: 'web' -> 'the web tier'" in plan.splitlines()
        assert (
            "    +    FilePaths: [/var/log/nginx/access.log, /var/log/nginx/error.log]" in plan.splitlines()
        )

        applied = ctl.ok("apply", "-f", str(catalog), "--yes", "--reason", "gitops")
        assert applied.splitlines()[-1] == "bind config new to group staging: done"
        events = audit_count(api)
        assert ctl.ok("apply", "-f", str(catalog), "--yes").startswith("No changes")
        assert audit_count(api) == events
        ctl.ok("export", str(again))
        for path in catalog.rglob("*.yaml"):  # the server holds what the files say (and defaults)
            mine, exported = (
                yaml.safe_load(p.read_text()) for p in (path, again / path.relative_to(catalog))
            )
            assert mine.items() <= exported.items()
        assert (again / "configs/legacy.yaml").exists()  # not pruned
        assert yaml.safe_load((again / "configs/new.yaml").read_text())["kind"] == "INSTANCE"
        history = api.call("ListConfigHistory", {"configName": "nginx"})["revisions"]
        assert (history[0]["version"], history[0]["reason"]) == ("1", "gitops")

        (catalog / "groups/default.yaml").unlink()
        (catalog / "groups/prod.yaml").unlink()
        assert (
            ctl.run("diff", "-f", str(catalog), "--prune").err
            == "Error: config nginx: no group prod in the directory\n"
        )
        edit(catalog / "configs/nginx.yaml", groups=["web"])
        pruning = ctl.ok("diff", "-f", str(catalog), "--prune").splitlines()
        assert pruning == [
            "- unbind config nginx from group prod",
            "- delete config legacy (version 0)",
            "- delete group prod",
            f"3 changes to {api.url}: 1 unbind, 2 delete.",
        ]
        ctl.ok("apply", "-f", str(catalog), "--prune", "--yes")
        assert ctl.ok("apply", "-f", str(catalog), "--prune", "--yes").startswith("No changes")
        groups = [g["groupName"] for g in api.call("ListAgentGroups")["agentGroups"]]
        assert groups == ["default", "staging", "web"]
        assert [c["configName"] for c in api.call("ListConfigs")["configDetails"]] == ["app", "new", "nginx"]

        edit(catalog / "groups/web.yaml", descripton="typo")
        bad = ctl.run("apply", "-f", str(catalog), "--yes")
        assert bad.code == 2 and "web.yaml: unknown field descripton" in bad.err
        assert ctl.run("apply", "-f", str(tmp_path), "--yes").code == 2  # holds neither groups/ nor configs/


def edit(path: Path, **changes: Any) -> None:
    write(path, {**yaml.safe_load(path.read_text()), **changes})


def write(path: Path, document: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(document))


# 4. A concurrent update while the plan awaits confirmation.


def test_apply_refuses_an_update_made_after_its_plan(store: Backend, tmp_path: Path) -> None:
    with running_server(store.url) as server:
        ctl, api = Ctl(server.http_port), Api(f"http://127.0.0.1:{server.http_port}", None)
        seed(api)
        ctl.ok("export", str(tmp_path))
        edit(tmp_path / "configs/nginx.yaml", content=NGINX_2)
        edit(tmp_path / "groups/web.yaml", description="first in the plan")
        applying = ctl.start("apply", "-f", str(tmp_path))
        assert applying.stdout is not None
        plan = []
        for line in applying.stdout:  # the plan, up to its count: it was read, and the prompt waits
            plan.append(line.rstrip("\n"))
            if line.startswith("2 changes"):
                break
        assert plan[-1] == f"2 changes to {api.url}: 2 update."
        assert "~ update config nginx (version 0)" in plan
        api.call("UpdateConfig", {"configDetail": {"configName": "nginx", "content": "theirs: 1\n"}})
        out, err = applying.communicate("y\n", timeout=30)
        assert applying.returncode == 1
        assert "update group web: done" in out
        assert (
            "Error: ConfigVersionConflict: update config nginx (version 0): Config nginx is at version 1"
            in err
        )
        assert "(1 of 2 changes were made before it)" in err
        assert api.call("GetConfig", {"configName": "nginx"})["configDetail"]["content"] == "theirs: 1\n"


# 5. No server, bad usage, help, completion.


def test_unreachable_and_usage(tmp_path: Path) -> None:
    ctl = Ctl(free_port())
    empty_token = tmp_path / "token"
    empty_token.write_text("\n")
    unreachable, usage, rejected_token = ctl.many(
        ["whoami"], ["apply", "nginx"], ["--token-file", str(empty_token), "whoami"]
    )
    assert unreachable.code == 3 and "cannot reach the ConfigServer at http://127.0.0.1:" in unreachable.err
    assert usage.code == 2 and "give CONFIG --group GROUP, or -f DIR" in usage.err
    assert rejected_token.code == 2 and "holds no token" in rejected_token.err


GROUPS = ("create", "delete", "get", "preview", "update")


def commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


def test_help_on_every_command_and_completion() -> None:
    every = list(commands(main))
    assert sorted(" ".join(path) for path in every if path[0] not in GROUPS or len(path) > 1) == [
        "alarms", "apply", "audit", "create config", "create group", "delete agent", "delete config",
        "delete group", "diff", "export", "get agents", "get config", "get configs", "get group",
        "get groups", "history", "preview group", "remove", "rollback", "status", "summary", "update config",
        "update group", "whoami",
    ]  # fmt: skip
    for path in every:
        result = CliRunner().invoke(main, [*path, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, path
    script = Ctl(free_port(), _CONFIGSERVERCTL_COMPLETE="bash_source").ok()
    assert "complete -o nosort -F _configserverctl_completion configserverctl" in script
    words = "configserverctl get "
    completed = Ctl(
        free_port(), _CONFIGSERVERCTL_COMPLETE="bash_complete", COMP_WORDS=words, COMP_CWORD="2"
    ).ok()
    assert completed.splitlines() == [
        f"plain,{name}" for name in ("agents", "config", "configs", "group", "groups")
    ]
