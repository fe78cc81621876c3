// A config's rollout: how many of the agents it targets hold its current version, refreshed while shown.

import * as api from "./api.js";
import { bar, describe, fill, h, link, loading, notice, section, seg } from "./dom.js";
import { Latest } from "./latest.js";

const ROLLOUT_REFRESH_MS = 5000;

export async function rolloutTab(body, name, _config, context) {
  const area = h("div", {}, loading());
  // The timer and the button both ask: a slow answer must not replace a newer one.
  const latest = new Latest();
  const refresh = () =>
    latest.run(
      () => api.call("GetConfigStatus", { configName: name }),
      (status) => showRollout(area, status),
      (error) => fill(area, notice("error", describe(error))),
    );
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

function showRollout(area, status) {
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
