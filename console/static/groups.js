// Agent groups: the list, a group's page (its tags, its configs), and the editor with its blast radius: how
// many agents the tags match, and who would join or leave, previewed as the tags are typed.

import * as api from "./api.js";
import {
  append,
  configHref,
  confirmWrite,
  describe,
  errorNotice,
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
  table,
  tagChips,
  writeButton,
} from "./dom.js";
import { Latest } from "./latest.js";

const DEFAULT_GROUP = "default";
const PREVIEW_DELAY_MS = 200;
const IDS_SHOWN = 10;

export async function groupsPage(view, _params, context) {
  const [listed, summary] = await Promise.all([api.call("ListAgentGroups"), api.call("GetFleetSummary")]);
  const counts = summary.agentsByGroup || {};
  const rows = (listed.agentGroups || []).map((group) => {
    const count = counts[group.groupName] || {};
    return h(
      "tr",
      { "data-group": group.groupName },
      h("td", {}, link(`#/groups/${seg(group.groupName)}`, group.groupName)),
      h(
        "td",
        {},
        group.groupName === DEFAULT_GROUP ? h("span", { class: "muted" }, "every agent") : tagChips(group.tags),
      ),
      h("td", { class: "num" }, String(api.num(count.online))),
      h("td", { class: "num" }, String(api.num(count.offline))),
      h("td", {}, group.description || ""),
    );
  });
  view.append(
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, "Agent groups"),
      context.session.canWrite ? writeButton("New group", () => context.navigate("#/new-group"), "primary") : null,
    ),
    h("p", { class: "muted" }, "An agent belongs to a group when one of its tags equals one of the group's tags."),
    table(["Group", "Tags", "Online", "Offline", "Description"], rows, { class: "groups" }),
  );
}

export async function newGroupPage(view, _params, context) {
  view.append(h("p", {}, link("#/groups", "← Groups")), h("div", { class: "page-head" }, h("h1", {}, "New group")));
  if (!context.session.canWrite) {
    view.append(notice("error", "Viewers cannot create groups."));
    return;
  }
  view.append(groupEditor({ groupName: "", description: "", tags: [] }, true, context));
}

export async function groupPage(view, [name], context) {
  view.append(h("p", {}, link("#/groups", "← Groups")));
  const group = (await api.call("GetAgentGroup", { groupName: name })).agentGroup;
  const editable = context.session.canWrite && name !== DEFAULT_GROUP;
  view.append(
    h(
      "div",
      { class: "page-head" },
      h("h1", {}, group.groupName),
      link(`#/agents?group=${seg(name)}`, "Its agents →"),
      editable ? writeButton("Delete group", () => deleteGroup(name, context), "danger") : null,
    ),
    editable ? groupEditor(group, false, context) : groupFacts(group),
  );
  const applied = h("div", {}, loading());
  view.append(section("Applied configs", applied));
  await appliedConfigs(applied, name, context);
}

function groupFacts(group) {
  const tags = group.groupName === DEFAULT_GROUP ? "every agent belongs to it" : tagChips(group.tags);
  return section(
    "Group",
    facts([
      ["Description", group.description || ""],
      ["Tags", tags],
    ]),
  );
}

/** The form and, beside it, the preview of what the tags would match. */
function groupEditor(group, isNew, context) {
  const name = h("input", { type: "text", id: "group-name", value: group.groupName, readonly: !isNew, required: true });
  const description = h("textarea", { id: "group-description", rows: 2, value: group.description || "" });
  const tags = new TagRows(group.tags || []);
  const reason = reasonInput();
  const preview = new Preview(() => ({
    groupName: name.value.trim(),
    description: description.value,
    tags: tags.value(),
  }));
  const error = h("div", {});
  const form = h(
    "form",
    {
      class: "card editor",
      oninput: () => preview.schedule(),
      onsubmit: (event) => saveGroup(event, { isNew, name, description, tags, reason, error, context }),
    },
    field("Name", name, isNew ? "A group cannot be renamed later." : ""),
    field("Description", description),
    h("div", { class: "field" }, h("span", { class: "label" }, "Tags"), tags.element),
    field("Reason", reason),
    error,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "primary", "data-write": true }, isNew ? "Create group" : "Save group"),
    ),
  );
  // Removing a tag row is not an input event: the rows tell the preview themselves.
  tags.onChange = () => preview.schedule();
  preview.schedule();
  return h("div", { class: "editor-layout" }, form, preview.element);
}

/** Editable rows of tag name and value. */
class TagRows {
  constructor(tags) {
    this.onChange = () => {};
    this.list = h("div", { class: "tag-rows" });
    this.element = h(
      "div",
      {},
      this.list,
      h(
        "button",
        {
          type: "button",
          class: "small",
          "data-write": true,
          onclick: () => this.add("", "").querySelector("input").focus(),
        },
        "+ Add tag",
      ),
    );
    for (const tag of tags) this.add(tag.name, tag.value);
    if (!tags.length) this.add("", "");
  }

  add(name, value) {
    const row = h(
      "div",
      { class: "tag-row" },
      h("input", { type: "text", class: "tag-name", placeholder: "name (env)", value: name, "aria-label": "Tag name" }),
      h("span", { class: "muted" }, "="),
      h("input", { type: "text", class: "tag-value", placeholder: "value (prod)", value, "aria-label": "Tag value" }),
      h(
        "button",
        {
          type: "button",
          class: "small",
          title: "Remove this tag",
          "aria-label": "Remove tag",
          onclick: () => {
            row.remove();
            this.onChange();
          },
        },
        "×",
      ),
    );
    this.list.append(row);
    return row;
  }

  /** The tags as typed; rows without a name are still being typed and are left out. */
  value() {
    return [...this.list.querySelectorAll(".tag-row")]
      .map((row) => ({
        name: row.querySelector(".tag-name").value.trim(),
        value: row.querySelector(".tag-value").value.trim(),
      }))
      .filter((tag) => tag.name);
  }
}

/** The blast radius, asked of the server (PreviewAgentGroup) a moment after the typing stops. */
class Preview {
  constructor(groupOf) {
    this.groupOf = groupOf;
    this.latest = new Latest();
    this.timer = 0;
    this.body = h("div", {}, h("p", { class: "muted" }, "Type tags to see which agents they match."));
    this.element = h(
      "aside",
      { class: "card preview", id: "preview", "aria-live": "polite" },
      h("h2", {}, "Blast radius"),
      this.body,
    );
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.run(), PREVIEW_DELAY_MS);
  }

  async run() {
    // Answers can arrive out of order: only the one for the latest tags is shown.
    const group = this.groupOf();
    if (!group.groupName) {
      this.latest.drop();
      fill(this.body, h("p", { class: "muted" }, "Name the group to preview the agents it would hold."));
      return;
    }
    await this.latest.run(
      () => api.call("PreviewAgentGroup", { agentGroup: group }),
      (answer) => this.show(answer),
      (error) => fill(this.body, errorNotice(error)),
    );
  }

  show(answer) {
    const matched = api.num(answer.agentsMatched);
    const now = api.num(answer.agentsNow);
    const added = api.num(answer.agentsAdded);
    const removed = api.num(answer.agentsRemoved);
    fill(
      this.body,
      h(
        "div",
        { class: "preview-total" },
        h("span", { class: "big", id: "preview-matched" }, String(matched)),
        ` agent${matched === 1 ? "" : "s"} would be in this group`,
      ),
      h(
        "p",
        { class: "preview-change" },
        h("span", { id: "preview-now" }, `${now} now`),
        " · ",
        h("span", { class: added ? "added" : "muted", id: "preview-added" }, `+${added} joining`),
        " · ",
        h("span", { class: removed ? "removed" : "muted", id: "preview-removed" }, `−${removed} leaving`),
      ),
      idList("Joining", answer.addedAgentIds || [], added),
      idList("Leaving", answer.removedAgentIds || [], removed),
    );
  }
}

function idList(title, ids, total) {
  if (!ids.length) return null;
  const more = total - Math.min(ids.length, IDS_SHOWN);
  return h(
    "div",
    { class: "id-list" },
    h("h3", {}, title),
    h(
      "ul",
      {},
      ids.slice(0, IDS_SHOWN).map((id) => h("li", {}, link(`#/agents/${seg(id)}`, id))),
    ),
    more > 0 ? h("p", { class: "muted" }, `and ${more} more`) : null,
  );
}

async function saveGroup(event, { isNew, name, description, tags, reason, error, context }) {
  // Never a real submission (the CSP forbids it): the write goes through fetch.
  event.preventDefault();
  const groupName = name.value.trim();
  const agentGroup = { groupName, description: description.value, tags: tags.value() };
  try {
    await api.call(isNew ? "CreateAgentGroup" : "UpdateAgentGroup", { agentGroup, reason: reason.value });
  } catch (failure) {
    fill(error, notice("error", describe(failure)));
    return;
  }
  context.navigate(`#/groups/${seg(groupName)}`, `${isNew ? "Created" : "Saved"} group ${groupName}.`);
}

function deleteGroup(name, context) {
  confirmWrite({
    title: `Delete group ${name}?`,
    body: "Its agents stay; a group with applied configs cannot be deleted (remove them first).",
    confirm: "Delete group",
    danger: true,
    action: async (reason) => {
      await api.call("DeleteAgentGroup", { groupName: name, reason });
      context.navigate("#/groups", `Deleted group ${name}.`);
    },
  });
}

/** The configs applied to a group; editors remove them or apply others. */
async function appliedConfigs(container, groupName, context) {
  const names = (await api.call("GetAppliedConfigsForAgentGroup", { groupName })).configNames || [];
  const reload = (message) => {
    context.flash(message);
    return appliedConfigs(container, groupName, context);
  };
  const rows = names.map((configName) => [
    link(configHref(configName), configName),
    context.session.canWrite ? writeButton("Remove", () => removeBinding(configName, groupName, reload), "small") : "",
  ]);
  fill(container, table(["Config", ""], rows, { class: "applied" }));
  if (context.session.canWrite) {
    const configs = await api.all("ListConfigs", {}, "configDetails");
    const candidates = configs.map((config) => config.configName).filter((configName) => !names.includes(configName));
    append(
      container,
      applyControl(candidates, (configName) => applyBinding(configName, groupName, reload)),
    );
  }
}

/** A select of what could be applied and its button (both write controls). */
export function applyControl(candidates, onApply, label = "config") {
  if (!candidates.length) return h("p", { class: "muted" }, `Every ${label} is applied already.`);
  const choice = select(candidates, candidates[0], { "data-write": true, "aria-label": `The ${label} to apply` });
  return h(
    "div",
    { class: "inline-form" },
    choice,
    writeButton("Apply", () => onApply(choice.value), "primary"),
  );
}

/** Apply a config to a group (asking why); `done(message)` shows the outcome. */
export function applyBinding(configName, groupName, done) {
  confirmWrite({
    title: `Apply ${configName} to ${groupName}?`,
    body: `Every agent of group ${groupName} fetches ${configName} at its next poll.`,
    confirm: "Apply",
    action: async (reason) => {
      await api.call("ApplyConfigToAgentGroup", { configName, groupName, reason });
      await done(`Applied ${configName} to ${groupName}.`);
    },
  });
}

/** Remove a config from a group (asking why); `done(message)` shows the outcome. */
export function removeBinding(configName, groupName, done) {
  confirmWrite({
    title: `Remove ${configName} from ${groupName}?`,
    body: `Agents of ${groupName} drop ${configName} at their next poll, unless another of their groups applies it.`,
    confirm: "Remove",
    danger: true,
    action: async (reason) => {
      await api.call("RemoveConfigFromAgentGroup", { configName, groupName, reason });
      await done(`Removed ${configName} from ${groupName}.`);
    },
  });
}
