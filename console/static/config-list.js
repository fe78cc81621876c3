// The Configs section's list: every config, a page at a time.

import * as api from "./api.js";
import { badge, configHref, h, link, loading, sizeCell, table, timeCell, utf8Bytes, writeButton } from "./dom.js";
import { Pager } from "./pager.js";

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
  const pager = new Pager(
    list,
    (pageToken) => api.call("ListConfigs", { pageSize: PAGE_SIZE, pageToken }),
    (answer) => configTable(answer.configDetails || []),
    { lone: false },
  );
  await pager.load();
}

function configTable(configs) {
  const rows = configs.map((config) => [
    link(configHref(config.configName), config.configName),
    badge(config.kind || "PIPELINE"),
    config.agentType || "",
    String(api.num(config.version)),
    sizeCell(utf8Bytes(config.content)),
    timeCell(config.updateTime),
    config.description || "",
  ]);
  const headings = ["Config", "Kind", "Agent type", "Version", "Size", "Updated", "Description"];
  return table(headings, rows, { class: "configs" });
}
