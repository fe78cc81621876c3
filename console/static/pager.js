// Paging through a User API list. The server pages forward only: each answer carries the token of the next
// page (next_page_token, empty on the last). Two shapes:
// - Pager: one page shown at a time, with previous and next (agents, configs, the audit log); going back
//   asks again for the page before with the token that led to it, so the pager keeps those tokens.
// - moreButton: a list that grows as older entries are asked for (an agent's alarms, a config's history).

import { errorNotice, fill, h } from "./dom.js";
import { Latest } from "./latest.js";

export class Pager {
  /**
   * Shows in `container` the page `fetchPage(pageToken)` answers, as `render(answer)` draws it, with a bar:
   * the buttons (`previous`, `next`: their labels), "Page N" and `note(answer)` beside it. `lone`: whether
   * the bar shows when the list has a single page.
   */
  constructor(
    container,
    fetchPage,
    render,
    { previous = "← Previous", next = "Next →", note = null, lone = true } = {},
  ) {
    this.container = container;
    this.fetchPage = fetchPage;
    this.render = render;
    this.labels = { previous, next };
    this.note = note;
    this.lone = lone;
    // Clicks can come faster than answers: only the page asked last is shown.
    this.latest = new Latest();
  }

  /** Show the page `pageToken` leads to; `before` holds the tokens of the pages before it. */
  load(pageToken = "", before = []) {
    return this.latest.run(
      () => this.fetchPage(pageToken),
      (answer) => fill(this.container, this.render(answer), this.controls(pageToken, before, answer)),
      (error) => fill(this.container, errorNotice(error)),
    );
  }

  controls(pageToken, before, answer) {
    const next = answer.nextPageToken || "";
    if (!before.length && !next && !this.lone) return null;
    const status = [`Page ${before.length + 1}`, this.note ? this.note(answer) : ""].filter(Boolean).join(" · ");
    return h(
      "div",
      { class: "pager" },
      h(
        "button",
        { type: "button", disabled: !before.length, onclick: () => this.load(before.at(-1), before.slice(0, -1)) },
        this.labels.previous,
      ),
      h("span", { class: "muted" }, status),
      h(
        "button",
        { type: "button", disabled: !next, onclick: () => this.load(next, [...before, pageToken]) },
        this.labels.next,
      ),
    );
  }
}

/**
 * The button under a growing list that asks for its next page (`load()`, which redraws the list and a new
 * button): disabled while that page is on its way, so that a double click does not add the page twice.
 */
export function moreButton(label, load) {
  const button = h(
    "button",
    {
      type: "button",
      onclick: async () => {
        button.disabled = true;
        try {
          await load();
        } finally {
          button.disabled = false;
        }
      },
    },
    label,
  );
  return button;
}
