// The audit log: every User API write, accepted or refused, newest first, filtered by time, actor and target.

import * as api from "./api.js";
import { configHref, field, h, link, loading, seg, statusBadge, table, when } from "./dom.js";
import { Pager } from "./pager.js";

const PAGE_SIZE = 50;

export async function auditPage(view, _params, context) {
  const filters = {
    since: context.query.get("since") || "",
    actor: context.query.get("actor") || "",
    target: context.query.get("target") || "",
  };
  const results = h("div", {}, loading());
  view.append(h("div", { class: "page-head" }, h("h1", {}, "Audit log")), filterForm(filters, context), results);
  const request = { pageSize: PAGE_SIZE, actor: filters.actor, target: filters.target };
  if (filters.since) request.since = filters.since;
  const pager = new Pager(
    results,
    (pageToken) => api.call("ListAuditEvents", { ...request, pageToken }),
    (answer) => auditTable(answer.events || []),
    { previous: "← Newer", next: "Older →" },
  );
  await pager.load();
}

/** The filters, kept in the route (#/audit?target=prod) so that a filtered log is a link. */
function filterForm(filters, context) {
  const since = h("input", { type: "datetime-local", id: "audit-since", value: toLocalInput(filters.since) });
  const actor = h("input", { type: "text", id: "audit-actor", value: filters.actor, placeholder: "alice" });
  const target = h("input", {
    type: "text",
    id: "audit-target",
    value: filters.target,
    placeholder: "a group, config or agent",
  });
  return h(
    "form",
    {
      class: "filters card",
      onsubmit: (event) => {
        event.preventDefault(); // filters change the route; nothing is submitted
        const query = new URLSearchParams();
        if (since.value) query.set("since", String(Math.floor(new Date(since.value).getTime() / 1000)));
        if (actor.value.trim()) query.set("actor", actor.value.trim());
        if (target.value.trim()) query.set("target", target.value.trim());
        context.navigate(`#/audit?${query}`);
      },
    },
    field("Since", since),
    field("Actor", actor),
    field("Target", target),
    h(
      "div",
      { class: "field narrow" },
      h("span", { class: "label" }, "\u00a0"),
      h("button", { type: "submit", class: "primary" }, "Filter"),
    ),
  );
}

/** Unix seconds as a datetime-local input value (local time, minutes). */
function toLocalInput(seconds) {
  if (!seconds) return "";
  const date = new Date(Number(seconds) * 1000);
  date.setMinutes(date.getMinutes() - date.getTimezoneOffset());
  return date.toISOString().slice(0, 16);
}

function auditTable(events) {
  const rows = events.map((event) => [
    h("time", {}, when(event.time)),
    event.actor,
    event.rpc,
    targetLink(event),
    statusBadge(event.code),
    h("span", { class: "reason-cell" }, event.reason || ""),
    h("span", { class: "muted" }, event.peer),
  ]);
  return table(["When", "Actor", "Call", "Target", "Result", "Reason", "Peer"], rows, { class: "audit" });
}

/** The target, linked to its page when the call says what kind of thing it names. */
function targetLink(event) {
  const target = event.target || "";
  if (!target) return "";
  if (/^(Apply|Remove)Config/.test(event.rpc)) {
    // A binding's target is GROUP/CONFIG; config names cannot hold '/', so the last one splits them.
    const cut = target.lastIndexOf("/");
    if (cut > 0) {
      const group = target.slice(0, cut);
      const config = target.slice(cut + 1);
      return [link(`#/groups/${seg(group)}`, group), " / ", link(configHref(config), config)];
    }
  }
  if (/Config$/.test(event.rpc)) return link(configHref(target), target);
  if (/AgentGroup$/.test(event.rpc)) return link(`#/groups/${seg(target)}`, target);
  return target;
}
