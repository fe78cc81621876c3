// Configs: the list, a new config, and a config's page with four tabs: its content (the editor), its
// history (a diff between any two revisions, rollback), its rollout across the agents, and its groups.

import * as api from "./api.js";
import { renderDiff, diffLines } from "./diff.js";
import {
  append,
  badge,
  configHref,
  bar,
  confirmWrite,
  describe,
  facts,
  field,
  fill,
  h,
  link,
  loading,
  notice,
  reasonInput,
  section,
  select,
  seg,
  statusBadge,
  table,
  timeCell,
  when,
  writeButton,
} from "./dom.js";
import { applyBinding, applyControl, removeBinding } from "./groups.js";

const PAGE_SIZE = 100;
const ROLLOUT_REFRESH_MS = 5000;
const KINDS = ["PIPELINE", "INSTANCE"];
const TABS = [
  ["content", "Content"],
  ["history", "History"],
  ["rollout", "Rollout"],
  ["groups", "Groups"],
];

export async function configsPage(view, _params, context) {
  const list = h("div", {}, loading());
  view.append(
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Configs"),
      context.session.canWrite ? writeButton("New config", () => context.navigate("#/new-config"), "primary") : null,
    ),
    list,
  );
  await loadConfigs(list, "", []);
}

/** A page of ListConfigs; `previous` holds the tokens of the pages before it. */
async function loadConfigs(container, pageToken, previous) {
  const answer = await api.call("ListConfigs", { pageSize: PAGE_SIZE, pageToken });
  const rows = (answer.configDetails || []).map((config) => [
    link(configHref(config.configName), config.configName),
    badge(config.kind || "PIPELINE"),
    config.agentType || "",
    String(api.num(config.version)),
    timeCell(config.updateTime),
    config.description || "",
  ]);
  const next = answer.nextPageToken;
  fill(
    container,
    table(["Config", "Kind", "Agent type", "Version", "Updated", "Description"], rows, { class: "configs" }),
    previous.length || next
      ? h(
          "div",
          { class: "pager" },
          h(
            "button",
            {
              type: "button",
              disabled: !previous.length,
              onclick: () => loadConfigs(container, previous.at(-1), previous.slice(0, -1)),
            },
            "← Previous",
          ),
          h(
            "button",
            { type: "button", disabled: !next, onclick: () => loadConfigs(container, next, [...previous, pageToken]) },
            "Next →",
          ),
        )
      : null,
  );
}

export async function newConfigPage(view, _params, context) {
  view.append(h("p", {}, link("#/configs", "← Configs")), h("div", { class: "page-head" }, h("h1", {}, "New config")));
  if (!context.session.canWrite) {
    view.append(notice("error", "Viewers cannot create configs."));
    return;
  }
  const inputs = configInputs({ configName: "", kind: "PIPELINE", agentType: "", description: "", content: "" }, true);
  const error = h("div", {});
  const form = h(
    "form",
    {
      class: "card editor",
      onsubmit: async (event) => {
        event.preventDefault(); // the write goes through fetch; the CSP forbids form submissions
        const configDetail = inputs.detail();
        try {
          await api.call("CreateConfig", { configDetail, reason: inputs.reason.value });
        } catch (failure) {
          fill(error, notice("error", describe(failure)));
          return;
        }
        context.navigate(configHref(configDetail.configName), `Created ${configDetail.configName} (version 0).`);
      },
    },
    inputs.fields,
    error,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "primary", "data-write": true }, "Create config"),
    ),
  );
  view.append(form);
}

/** The editor's fields for a config, and how to read them back as a Config message. */
function configInputs(config, isNew) {
  const name = h("input", {
    type: "text",
    id: "config-name",
    value: config.configName,
    readonly: !isNew,
    required: true,
  });
  const kind = select(KINDS, config.kind || "PIPELINE", { id: "config-kind" });
  const agentType = h("input", { type: "text", id: "config-agent-type", value: config.agentType || "" });
  const description = h("input", { type: "text", id: "config-description", value: config.description || "" });
  const content = h("textarea", {
    id: "config-content",
    rows: 18,
    spellcheck: "false",
    value: config.content || "",
    required: true,
  });
  const reason = reasonInput();
  const fields = [
    isNew ? field("Name", name, "Letters, digits, '_', '.' and '-': agents write it as a file name.") : null,
    h(
      "div",
      { class: "row" },
      field("Kind", kind, "INSTANCE configs reach LoongCollector (v2) agents only."),
      field("Agent type", agentType),
      field("Description", description),
    ),
    field("Content", content, "YAML or JSON, as the agents read it."),
    field("Reason", reason),
  ];
  const detail = () => ({
    configName: name.value.trim(),
    kind: kind.value,
    agentType: agentType.value,
    description: description.value,
    content: content.value,
  });
  return { fields, detail, content, reason };
}

export async function configPage(view, [name, tab = "content"], context) {
  let config = null;
  try {
    config = (await api.call("GetConfig", { configName: name })).configDetail;
  } catch (error) {
    // A deleted config keeps its history, from which it can be rolled back to life.
    if (!(error instanceof api.ApiError && error.code === "ConfigNotExist")) throw error;
  }
  view.append(h("p", {}, link("#/configs", "← Configs")), configHead(name, config), tabs(name, tab));
  const body = h("div", { class: "tab-body" });
  view.append(body);
  if (!config && tab !== "history") {
    body.append(
      notice("warn", "This config does not exist (it was deleted). Its history may bring it back."),
      link(configHref(name, "history"), "See its history →"),
    );
    return;
  }
  const pages = { content: contentTab, history: historyTab, rollout: rolloutTab, groups: groupsTab };
  await pages[tab](body, name, config, context);
}

function configHead(name, config) {
  return h(
    "div",
    { class: "page-head" },
    h("h1", {}, name),
    config ? badge(`version ${api.num(config.version)}`, "info") : badge("deleted", "bad"),
    config ? badge(config.kind || "PIPELINE") : null,
    config ? h("span", { class: "muted" }, "updated ", timeCell(config.updateTime)) : null,
    link(`#/audit?target=${seg(name)}`, "Audit events →"),
  );
}

function tabs(name, active) {
  return h(
    "nav",
    { class: "tabs", "aria-label": "Config views" },
    TABS.map(([tab, label]) => h("a", { href: configHref(name, tab), class: tab === active ? "active" : null }, label)),
  );
}

// Content.

async function contentTab(body, name, config, context) {
  if (!context.session.canWrite) {
    body.append(
      section(
        "Config",
        facts([
          ["Kind", config.kind || "PIPELINE"],
          ["Agent type", config.agentType || ""],
          ["Description", config.description || ""],
        ]),
        h("pre", { class: "content", id: "config-content-view" }, config.content),
      ),
    );
    return;
  }
  new ConfigEditor(body, config, context).render();
}

/**
 * The editor: saves with expectedVersion = the version it loaded, so that a change someone else saved in
 * between is never overwritten unseen (the server answers ConfigVersionConflict and nothing changes).
 */
class ConfigEditor {
  constructor(container, config, context) {
    this.container = container;
    this.config = config;
    this.context = context;
    this.base = api.num(config.version);
    this.inputs = configInputs(config, false);
    this.status = h("div", {});
    this.note = h("p", { class: "muted", id: "editing-version" });
  }

  render() {
    this.showBase();
    const form = h(
      "form",
      { class: "card editor", onsubmit: (event) => this.save(event) },
      this.note,
      this.inputs.fields,
      this.status,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", class: "primary", "data-write": true }, "Save"),
        writeButton("Delete config", () => this.remove(), "danger"),
      ),
    );
    this.container.append(form);
  }

  showBase() {
    fill(
      this.note,
      `Editing on top of version ${this.base}: saving makes a new version, unless someone saved one since.`,
    );
  }

  async save(event) {
    event.preventDefault(); // the write goes through fetch; the CSP forbids form submissions
    const request = {
      configDetail: this.inputs.detail(),
      reason: this.inputs.reason.value,
      expectedVersion: String(this.base),
    };
    try {
      await api.call("UpdateConfig", request);
    } catch (error) {
      if (error instanceof api.ApiError && error.code === "ConfigVersionConflict") await this.conflict(error);
      else fill(this.status, notice("error", describe(error)));
      return;
    }
    const name = this.config.configName;
    this.context.navigate(configHref(name, "content"), `Saved ${name}.`);
  }

  /** Someone saved since this editor loaded: say who and when, keep the operator's text, offer to compare. */
  async conflict(error) {
    const compare = h("div", {});
    const name = this.config.configName;
    let since = error.message;
    try {
      // The newest revision says who saved in between, when and why.
      const [latest] = (await api.call("ListConfigHistory", { configName: name, pageSize: 1 })).revisions || [];
      if (latest) {
        const why = latest.reason ? ` ("${latest.reason}")` : "";
        const what = latest.action === "DELETE" ? "deleted it" : `saved version ${api.num(latest.version)}`;
        since = `${latest.actor || "someone"} ${what} at ${when(latest.time)}${why}`;
      }
    } catch {
      // The server's own message already names the current version.
    }
    fill(
      this.status,
      notice(
        "error conflict",
        h("strong", {}, "Version conflict: nothing was saved."),
        h("p", {}, `You were editing version ${this.base}; since then ${since}. Your text is still in the editor.`),
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", onclick: () => this.compare(compare) }, "Compare with the server's version"),
          h(
            "button",
            { type: "button", onclick: () => this.context.navigate(configHref(name, "content")) },
            "Discard my text and reload",
          ),
        ),
      ),
      compare,
    );
  }

  /** The server's current content against the editor's; then saving on top of it is a choice made seeing it. */
  async compare(container) {
    const current = (await api.call("GetConfig", { configName: this.config.configName })).configDetail;
    const theirs = api.num(current.version);
    fill(
      container,
      h("h3", {}, `Version ${theirs} (the server's) → your text`),
      renderDiff(diffLines(current.content, this.inputs.content.value)),
      h(
        "button",
        {
          type: "button",
          "data-write": true,
          onclick: () => {
            this.base = theirs;
            this.showBase();
            fill(
              this.status,
              notice("warn", `Now editing on top of version ${theirs}: Save replaces it with your text.`),
            );
          },
        },
        `Edit on top of version ${theirs}`,
      ),
    );
  }

  remove() {
    const name = this.config.configName;
    confirmWrite({
      title: `Delete ${name}?`,
      body: "Its history is kept, and a rollback can bring it back. A config still applied to a group cannot be deleted.",
      confirm: "Delete config",
      danger: true,
      action: async (reason) => {
        await api.call("DeleteConfig", { configName: name, reason, expectedVersion: String(this.base) });
        this.context.navigate("#/configs", `Deleted ${name}.`);
      },
    });
  }
}

// History.

async function historyTab(body, name, config, context) {
  const history = new History(body, name, config, context);
  await history.load("");
}

/** The revisions, newest first, with two choices (from, to) whose diff shows below them. */
class History {
  constructor(container, name, config, context) {
    this.container = container;
    this.name = name;
    this.config = config;
    this.context = context;
    this.revisions = [];
    this.from = null;
    this.to = null;
    this.diff = h("div", { class: "card", id: "history-diff" });
    this.tableArea = h("div", {});
  }

  async load(pageToken) {
    const answer = await api.call("ListConfigHistory", { configName: this.name, pageSize: PAGE_SIZE, pageToken });
    this.revisions.push(...(answer.revisions || []));
    // By default: what the latest write changed.
    if (this.to === null && this.revisions.length) {
      this.to = api.num(this.revisions[0].version);
      this.from = api.num((this.revisions[1] || this.revisions[0]).version);
    }
    this.next = answer.nextPageToken || "";
    this.render();
  }

  render() {
    fill(
      this.tableArea,
      table(
        ["From", "To", "Version", "Action", "When", "Actor", "Reason", ""],
        this.revisions.map((revision, index) => this.row(revision, index)),
        {
          class: "history",
        },
      ),
      this.next ? h("button", { type: "button", onclick: () => this.load(this.next) }, "Older revisions") : null,
    );
    fill(this.container, section("History", this.tableArea), this.diff);
    this.showDiff();
  }

  row(revision, index) {
    const version = api.num(revision.version);
    const choose = (which) =>
      h("input", {
        type: "radio",
        name: `diff-${which}`,
        "aria-label": `Compare ${which} version ${version}`,
        checked: this[which] === version,
        onchange: () => {
          this[which] = version;
          this.showDiff();
        },
      });
    // Rolling back to the newest revision would only repeat it; every other revision can be brought back.
    const canRollBack = this.context.session.canWrite && (index > 0 || !this.config);
    return h(
      "tr",
      { "data-version": version },
      h("td", {}, choose("from")),
      h("td", {}, choose("to")),
      h("td", { class: "num" }, String(version)),
      h("td", {}, statusBadge(revision.action)),
      h("td", {}, h("time", { title: when(revision.time) }, when(revision.time))),
      h("td", {}, revision.actor || h("span", { class: "muted" }, "—")),
      h("td", { class: "reason-cell" }, revision.reason || ""),
      h("td", {}, canRollBack ? writeButton(`Roll back to ${version}`, () => this.rollback(revision), "small") : ""),
    );
  }

  revision(version) {
    return this.revisions.find((revision) => api.num(revision.version) === version);
  }

  showDiff() {
    const from = this.revision(this.from);
    const to = this.revision(this.to);
    if (!from || !to) {
      fill(this.diff, h("p", { class: "muted" }, "Choose two revisions to compare."));
      return;
    }
    fill(
      this.diff,
      h("h2", {}, `Version ${this.from} → version ${this.to}`),
      renderDiff(diffLines(from.config?.content || "", to.config?.content || "")),
    );
  }

  rollback(revision) {
    const version = api.num(revision.version);
    const request = { configName: this.name, toVersion: String(version) };
    // The rollback must not undo a write this page has not shown: it expects the version it shows as current.
    if (this.config) request.expectedVersion = String(api.num(this.config.version));
    confirmWrite({
      title: `Roll ${this.name} back to version ${version}?`,
      body: `It gets a new version holding version ${version}'s content; agents holding it fetch it as modified.`,
      confirm: `Roll back to ${version}`,
      action: async (reason) => {
        const answer = await api.call("RollbackConfig", { ...request, reason });
        const now = api.num(answer.configDetail?.version);
        this.context.navigate(
          configHref(this.name, "history"),
          `Rolled back to version ${version}: version ${now} is current.`,
        );
      },
    });
  }
}

// Rollout.

async function rolloutTab(body, name, _config, context) {
  const area = h("div", {}, loading());
  const refresh = () => loadRollout(area, name);
  body.append(
    h(
      "div",
      { class: "toolbar" },
      h("button", { type: "button", id: "rollout-refresh", onclick: refresh }, "Refresh"),
      h("span", { class: "muted" }, `Refreshes every ${ROLLOUT_REFRESH_MS / 1000} s.`),
    ),
    area,
  );
  // A rollout is watched as it happens: poll while the tab is open.
  const timer = setInterval(refresh, ROLLOUT_REFRESH_MS);
  context.onLeave(() => clearInterval(timer));
  await refresh();
}

const ROLLOUT_STATS = [
  ["targeted", "agentsTargeted", "Targeted", "agents whose groups apply it"],
  ["online", "agentsOnline", "Online", "of those targeted"],
  ["current", "agentsCurrent", "Current", "hold the current version"],
  ["outdated", "agentsOutdated", "Outdated", "hold another version"],
  ["pending", "agentsPending", "Pending", "never reported holding it"],
  ["applying", "agentsApplying", "Applying", "v2 agents, of those current"],
  ["applied", "agentsApplied", "Applied", "v2 agents, of those current"],
  ["failed", "agentsFailed", "Failed", "v2 agents, of those current"],
];

async function loadRollout(area, name) {
  let status;
  try {
    status = await api.call("GetConfigStatus", { configName: name });
  } catch (error) {
    fill(area, notice("error", describe(error)));
    return;
  }
  const count = (key) => api.num(status[key]);
  const targeted = count("agentsTargeted");
  const current = count("agentsCurrent");
  const lagging = status.laggingAgentIds || [];
  fill(
    area,
    section(
      `Version ${api.num(status.configVersion)}`,
      h(
        "p",
        { class: "rollout-headline", id: "rollout-headline" },
        `${current} of ${targeted} targeted agents hold version ${api.num(status.configVersion)}.`,
      ),
      bar(
        [
          { value: current, kind: "on" },
          { value: count("agentsOutdated"), kind: "warn" },
          { value: count("agentsPending"), kind: "off" },
        ],
        targeted,
        `${current} current, ${count("agentsOutdated")} outdated, ${count("agentsPending")} pending`,
      ),
      h(
        "p",
        { class: "legend" },
        h("span", { class: "key on" }),
        "current ",
        h("span", { class: "key warn" }),
        "outdated ",
        h("span", { class: "key off" }),
        "pending",
      ),
      h(
        "div",
        { class: "stats small" },
        ROLLOUT_STATS.map(([id, key, label, hint]) =>
          h(
            "div",
            { class: "stat", "data-stat": id, title: hint },
            h("div", { class: "stat-label" }, label),
            h("div", { class: `stat-value ${id === "failed" && count(key) ? "bad" : ""}` }, String(count(key))),
          ),
        ),
      ),
    ),
    section(
      "Lagging agents",
      lagging.length
        ? h(
            "ul",
            { class: "id-list lagging" },
            lagging.map((id) => h("li", {}, link(`#/agents/${seg(id)}`, id))),
          )
        : h("p", { class: "muted" }, "None: every targeted agent holds the current version."),
      lagging.length >= 100 ? h("p", { class: "muted" }, "The first 100, online ones first.") : null,
    ),
  );
}

// Groups.

async function groupsTab(body, name, _config, context) {
  const [applied, summary] = await Promise.all([
    api.call("GetAppliedAgentGroups", { configName: name }),
    api.call("GetFleetSummary"),
  ]);
  const names = applied.agentGroupNames || [];
  const counts = summary.agentsByGroup || {};
  const reload = (message) => context.navigate(configHref(name, "groups"), message);
  const rows = names.map((group) => [
    link(`#/groups/${seg(group)}`, group),
    String(api.num(counts[group]?.online) + api.num(counts[group]?.offline)),
    context.session.canWrite ? writeButton("Remove", () => removeBinding(name, group, reload), "small") : "",
  ]);
  const card = section("Applied to groups", table(["Group", "Agents", ""], rows, { class: "applied" }));
  if (context.session.canWrite) {
    const groups = (await api.call("ListAgentGroups")).agentGroups || [];
    const candidates = groups.map((group) => group.groupName).filter((group) => !names.includes(group));
    append(
      card,
      applyControl(candidates, (group) => applyBinding(name, group, reload), "group"),
    );
  }
  body.append(card);
}
