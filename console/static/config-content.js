// A config's content: the editor (a save carries the version it loaded, so a concurrent change is shown and
// never overwritten), its read-only view for viewers, and the form of a new config.

import * as api from "./api.js";
import { renderDiff, diffLines } from "./diff.js";
import {
  configHref,
  confirmWrite,
  describe,
  errorNotice,
  facts,
  field,
  fill,
  h,
  link,
  notice,
  reasonInput,
  section,
  select,
  sizeCell,
  utf8Bytes,
  when,
  writeButton,
} from "./dom.js";

const KINDS = ["PIPELINE", "INSTANCE"];

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
  // What the content weighs as it is typed: the server counts UTF-8 bytes against its limit.
  const size = h("span", { id: "config-size" });
  const showSize = () => fill(size, sizeCell(utf8Bytes(content.value)));
  content.addEventListener("input", showSize);
  showSize();
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
    field("Content", content, ["YAML or JSON, as the agents read it. Size: ", size, "."]),
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

export async function contentTab(body, name, config, context) {
  if (!context.session.canWrite) {
    body.append(
      section(
        "Config",
        facts([
          ["Kind", config.kind || "PIPELINE"],
          ["Agent type", config.agentType || ""],
          ["Description", config.description || ""],
          ["Size", sizeCell(utf8Bytes(config.content))],
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
    const compare = h("div", { class: "compare" });
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

  /**
   * The server's current content against the editor's; then saving on top of it is a choice made seeing it.
   * When the server cannot show it (the config was deleted since, the server is unreachable), that is shown
   * in its place.
   */
  async compare(container) {
    let current;
    try {
      current = (await api.call("GetConfig", { configName: this.config.configName })).configDetail;
    } catch (error) {
      fill(container, errorNotice(error));
      return;
    }
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
