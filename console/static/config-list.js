// The Configs section's list: every config, a page at a time.

import * as api from "./api.js";
import { badge, configHref, fill, h, link, loading, table, timeCell, writeButton } from "./dom.js";

const PAGE_SIZE = 100;

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
