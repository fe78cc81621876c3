// A config's groups: those it is applied to, with remove and apply for editors.

import * as api from "./api.js";
import { append, configHref, link, section, seg, table, writeButton } from "./dom.js";
import { applyBinding, applyControl, removeBinding } from "./groups.js";

export async function groupsTab(body, name, _config, context) {
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
