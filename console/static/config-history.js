// A config's history: its revisions, newest first, a line diff between any two, and rollback.

import * as api from "./api.js";
import { renderDiff, diffLines } from "./diff.js";
import { configHref, confirmWrite, fill, h, section, statusBadge, table, when, writeButton } from "./dom.js";
import { moreButton } from "./pager.js";

const PAGE_SIZE = 100;

export async function historyTab(body, name, config, context) {
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
      this.next ? moreButton("Older revisions", () => this.load(this.next)) : null,
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
