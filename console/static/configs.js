// Configs: the list, a new config, and a config's page with four tabs, each a module of its own: its content
// (the editor), its history (a diff between any two revisions, rollback), its rollout across the agents, and
// its groups. This module is the page around the tabs: the head, the tab bar, and which tab shows.

import * as api from "./api.js";
import { badge, configHref, h, link, notice, seg, timeCell } from "./dom.js";
import { contentTab } from "./config-content.js";
import { groupsTab } from "./config-groups.js";
import { historyTab } from "./config-history.js";
import { rolloutTab } from "./config-rollout.js";

export { configsPage } from "./config-list.js";
export { newConfigPage } from "./config-content.js";

const TABS = [
  ["content", "Content"],
  ["history", "History"],
  ["rollout", "Rollout"],
  ["groups", "Groups"],
];

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
