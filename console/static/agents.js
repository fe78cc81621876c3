// Agents: a paged, filtered table of the fleet, and one agent's page (tags, what it holds, how its configs
// applied, its running details and alarms).

import * as api from "./api.js";
import {
  badge,
  configHref,
  confirmWrite,
  errorNotice,
  facts,
  field,
  fill,
  h,
  link,
  loading,
  notice,
  section,
  select,
  seg,
  sizeCell,
  statusBadge,
  table,
  tagChips,
  timeCell,
  when,
  writeButton,
} from "./dom.js";
import { moreButton, Pager } from "./pager.js";

const PAGE_SIZES = ["25", "50", "100", "500"];
const STATUSES = [["", "any status"], "ONLINE", "OFFLINE"];
const PROTOCOLS = [["", "any protocol"], "alpha", "v2", "v1"];
const ALARM_PAGE = 20;

export async function agentsPage(view, _params, context) {
  const filters = {
    group: context.query.get("group") || "default",
    status: context.query.get("status") || "",
    protocol: context.query.get("protocol") || "",
    size: context.query.get("size") || "50",
  };
  const groups = (await api.call("ListAgentGroups")).agentGroups || [];
  const names = groups.map((group) => group.groupName);
  if (!names.includes(filters.group)) names.push(filters.group);
  const results = h("div", {}, loading());
  view.append(h("div", { class: "page-head" }, h("h1", {}, "Agents")), filterBar(filters, names, context), results);
  const request = { groupName: filters.group, pageSize: Number(filters.size) };
  if (filters.status) request.status = filters.status;
  if (filters.protocol) request.protocol = filters.protocol;
  const pager = new Pager(
    results,
    (pageToken) => api.call("ListAgents", { ...request, pageToken }),
    (answer) => agentTable(answer.agents || []),
    { note: (answer) => `${(answer.agents || []).length} agents` },
  );
  await pager.load();
}

/**
 * The filters, each a field of ListAgents, so that the server filters the whole fleet and pages what
 * matches. A change navigates, so that the filtered view is a link and paging starts over.
 */
function filterBar(filters, groupNames, context) {
  const controls = {
    group: select(groupNames, filters.group, { id: "filter-group" }),
    status: select(STATUSES, filters.status, { id: "filter-status" }),
    protocol: select(PROTOCOLS, filters.protocol, { id: "filter-protocol" }),
    size: select(PAGE_SIZES, filters.size, { id: "filter-size" }),
  };
  const apply = () => {
    const query = new URLSearchParams();
    for (const [name, control] of Object.entries(controls)) if (control.value) query.set(name, control.value);
    context.navigate(`#/agents?${query}`);
  };
  for (const control of Object.values(controls)) control.addEventListener("change", apply);
  return h(
    "div",
    { class: "filters card" },
    field("Group", controls.group),
    field("Status", controls.status),
    field("Protocol", controls.protocol),
    field("Per page", controls.size),
  );
}

function agentTable(agents) {
  const rows = agents.map((agent) =>
    h(
      "tr",
      { "data-agent": agent.agentId },
      h("td", { class: "id-cell" }, link(`#/agents/${seg(agent.agentId)}`, agent.agentId)),
      h("td", {}, statusBadge(agent.status)),
      h("td", {}, badge(agent.protocol || "—")),
      h(
        "td",
        {},
        agent.hostname || agent.ip || "—",
        agent.hostname && agent.ip ? h("div", { class: "muted" }, agent.ip) : null,
      ),
      h("td", {}, agent.version || "—"),
      h("td", {}, tagChips(agent.tags)),
      h("td", { class: "num" }, heldSummary(agent)),
      h("td", {}, timeCell(agent.latestHeartbeatTime)),
    ),
  );
  return table(["Agent", "Status", "Protocol", "Host", "Version", "Tags", "Configs", "Last heartbeat"], rows, {
    class: "agents",
  });
}

/** How many configs it holds, and a warning when any failed to apply. */
function heldSummary(agent) {
  const held = Object.keys(agent.configVersions || {}).length;
  const failed = Object.values(agent.configStatuses || {}).filter((status) => status === "FAILED").length;
  return [String(held), failed ? badge(`${failed} failed`, "bad") : null];
}

/**
 * One agent, found by paging ListAgents in id order (the User API has no single-agent read): stops at the
 * page that passes its id.
 */
async function findAgent(agentId) {
  let pageToken = "";
  do {
    const answer = await api.call("ListAgents", { groupName: "default", pageSize: 1000, pageToken });
    const agents = answer.agents || [];
    const found = agents.find((agent) => agent.agentId === agentId);
    if (found) return found;
    if (agents.length && byCodePoint(agents[agents.length - 1].agentId, agentId) > 0) return null;
    pageToken = answer.nextPageToken || "";
  } while (pageToken);
  return null;
}

/** Compare as the server sorts ids (by code point; JavaScript's < compares UTF-16 units). */
function byCodePoint(a, b) {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const difference = left[i].codePointAt(0) - right[i].codePointAt(0);
    if (difference) return difference;
  }
  return left.length - right.length;
}

export async function agentPage(view, [agentId], context) {
  view.append(h("p", {}, link("#/agents", "← Agents")));
  const agent = await findAgent(agentId);
  if (!agent) {
    view.append(
      h("h1", { class: "agent-id" }, agentId),
      notice("error", "No agent has this id: it was deleted, or expired."),
    );
    return;
  }
  const head = h(
    "div",
    { class: "page-head" },
    h("h1", { class: "agent-id" }, agent.agentId),
    statusBadge(agent.status),
    context.session.canWrite ? writeButton("Delete agent", () => deleteAgent(agent, context), "danger") : null,
  );
  const configs = h("div", {}, loading());
  const alarms = h("div", {}, loading());
  view.append(
    head,
    h(
      "div",
      { class: "columns" },
      h(
        "div",
        {},
        section("Agent", identity(agent)),
        section("Tags", tagChips(agent.tags)),
        section("Running details", runningDetails(agent)),
      ),
      h("div", {}, section("Configs", configs), section("Recent alarms", alarms)),
    ),
  );
  await Promise.all([loadConfigs(configs, agent), new AlarmPager(alarms, agent.agentId).load("")]);
}

function identity(agent) {
  return facts([
    ["Protocol", agent.protocol || "—"],
    ["Agent type", agent.agentType],
    ["Version", agent.version],
    ["Hostname", agent.hostname],
    ["IP", agent.ip],
    ["Running status", agent.runningStatus],
    ["Started", when(agent.startupTime)],
    ["Last heartbeat", [timeCell(agent.latestHeartbeatTime), ` (${when(agent.latestHeartbeatTime)})`]],
    ["Last config fetch", when(agent.lastConfigFetchTime)],
  ]);
}

function runningDetails(agent) {
  const entries = Object.entries(agent.runningDetails || {}).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) return h("p", { class: "muted" }, "None reported.");
  // Memory is RunningStatistics.memory, in bytes; the extras are the agent's own words, shown as they are.
  const shown = (name, value) => (name === "Memory" && /^\d+$/.test(value) ? sizeCell(value) : value);
  return facts(entries.map(([name, value]) => [name, shown(name, value)]));
}

/** Held versions against each config's current one, and the apply status v2 agents report. */
async function loadConfigs(container, agent) {
  const held = agent.configVersions || {};
  const statuses = agent.configStatuses || {};
  const names = [...new Set([...Object.keys(held), ...Object.keys(statuses)])].sort();
  const current = await currentVersions(names);
  const rows = names.map((name) => {
    const version = name in held ? String(held[name]) : "—";
    const latest = current.get(name);
    const state =
      latest === undefined
        ? badge("deleted", "muted")
        : latest === version
          ? badge("current", "ok")
          : badge(`current is ${latest}`, "warn");
    // Only v2 agents report how a config applied; for the others there is nothing to show.
    const applied = statuses[name] ? statusBadge(statuses[name]) : h("span", { class: "muted" }, "not reported");
    return [link(configHref(name), name), version, state, applied];
  });
  fill(
    container,
    h("p", { class: "muted" }, `Last fetch ${when(agent.lastConfigFetchTime)}.`),
    table(["Config", "Held", "Server", "Apply status"], rows, { class: "held" }),
  );
}

async function currentVersions(names) {
  const versions = new Map();
  const answers = await Promise.allSettled(names.map((name) => api.call("GetConfig", { configName: name })));
  answers.forEach((answer, index) => {
    if (answer.status === "fulfilled") versions.set(names[index], String(answer.value.configDetail.version || "0"));
  });
  return versions;
}

class AlarmPager {
  constructor(container, agentId) {
    this.container = container;
    this.agentId = agentId;
    this.rows = [];
  }

  async load(pageToken) {
    let answer;
    try {
      answer = await api.call("ListAlarms", { agentId: this.agentId, pageSize: ALARM_PAGE, pageToken });
    } catch (error) {
      fill(this.container, errorNotice(error));
      return;
    }
    for (const alarm of answer.alarms || []) {
      this.rows.push([
        timeCell(alarm.time),
        badge(alarm.type || "—", "warn"),
        h("span", { class: "alarm-detail" }, alarm.detail),
      ]);
    }
    const next = answer.nextPageToken;
    fill(
      this.container,
      table(["When", "Type", "Detail"], this.rows, { class: "alarms" }),
      next ? moreButton("Older alarms", () => this.load(next)) : null,
    );
  }
}

function deleteAgent(agent, context) {
  confirmWrite({
    title: "Delete this agent?",
    body: `${agent.agentId} leaves the list now; if it sends a heartbeat again it registers anew.`,
    confirm: "Delete agent",
    danger: true,
    action: async (reason) => {
      await api.call("DeleteAgent", { agentId: agent.agentId, reason });
      context.navigate("#/agents", `Deleted agent ${agent.agentId}.`);
    },
  });
}
