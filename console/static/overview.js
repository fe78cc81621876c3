// The fleet at a glance: agents online and offline, per protocol and per group, and the last hour's alarms.

import * as api from "./api.js";
import { bar, errorNotice, fill, h, link, loading, section, seg, table } from "./dom.js";
import { Latest } from "./latest.js";

const REFRESH_MS = 15000;

export async function overviewPage(view, _params, context) {
  const body = h("div", {}, loading());
  // The timer and the button both ask: a slow answer must not replace a newer one.
  const latest = new Latest();
  const refresh = () =>
    latest.run(
      () => api.call("GetFleetSummary"),
      (summary) => show(body, summary),
      (error) => fill(body, errorNotice(error)),
    );
  view.append(
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Fleet overview"),
      h("button", { type: "button", onclick: refresh }, "Refresh"),
    ),
    body,
  );
  // The numbers move as agents come and go: keep them fresh while the page is open.
  const timer = setInterval(refresh, REFRESH_MS);
  context.onLeave(() => clearInterval(timer));
  await refresh();
}

function show(body, summary) {
  const agents = summary.agents || {};
  const online = api.num(agents.online);
  const offline = api.num(agents.offline);
  fill(
    body,
    h(
      "div",
      { class: "stats" },
      stat("Agents online", online, "ok", "#/agents?status=ONLINE"),
      stat("Agents offline", offline, offline ? "warn" : "muted", "#/agents?status=OFFLINE"),
      stat("Agents in all", online + offline, "", "#/agents"),
      stat(
        "Alarms in the last hour",
        api.num(summary.alarmsLastHour),
        api.num(summary.alarmsLastHour) ? "bad" : "muted",
      ),
    ),
    h(
      "div",
      { class: "columns" },
      section(
        "By protocol",
        countTable("Protocol", summary.agentsByProtocol, (name) => `#/agents?protocol=${encodeURIComponent(name)}`),
      ),
      section(
        "By group",
        countTable("Group", summary.agentsByGroup, (name) => `#/groups/${seg(name)}`),
      ),
    ),
  );
}

function stat(label, value, kind, href) {
  const number = h("div", { class: `stat-value ${kind}` }, String(value));
  return h(
    "div",
    { class: "stat card", "data-stat": label },
    h("div", { class: "stat-label" }, label),
    href ? link(href, number) : number,
  );
}

/** Rows of name (linked when `href(name)` says where), online, offline and a bar, from name -> {online, offline}. */
function countTable(heading, counts, href = null) {
  const entries = Object.entries(counts || {}).sort(([a], [b]) => a.localeCompare(b));
  const widest = Math.max(1, ...entries.map(([, count]) => api.num(count.online) + api.num(count.offline)));
  const rows = entries.map(([name, count]) => {
    const up = api.num(count.online);
    const down = api.num(count.offline);
    return h(
      "tr",
      { "data-name": name },
      h("td", {}, href ? link(href(name), name) : name),
      h("td", { class: "num" }, String(up)),
      h("td", { class: "num" }, String(down)),
      h(
        "td",
        { class: "bar-cell" },
        bar(
          [
            { value: up, kind: "on" },
            { value: down, kind: "off" },
          ],
          widest,
          `${up} online, ${down} offline`,
        ),
      ),
    );
  });
  return table([heading, "Online", "Offline", ""], rows, { class: "counts" });
}
