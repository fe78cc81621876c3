// Building the page without markup: every string becomes a text node, so an agent id, a tag or an alarm
// that looks like HTML is shown as the characters it is and never parsed. Nothing here uses innerHTML.

import { ApiError } from "./api.js";

/**
 * An element: h("a", {href: "#/x", class: "link"}, "text", child, [more]).
 * Attributes starting with "on" become listeners; `true` sets an empty attribute; null, undefined and
 * false are skipped; a "style" attribute is refused (the Content-Security-Policy blocks inline styles).
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "style") throw new Error("inline styles are blocked by the CSP: use a class");
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "value" || name === "checked" || name === "selected") element[name] = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

/** Append children: strings and numbers as text nodes, arrays flattened, null skipped. */
export function append(parent, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replace an element's children. */
export function fill(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** Encode one path segment of a hash route (ids and names may hold '/', '?', '#' or spaces). */
export function seg(value) {
  return encodeURIComponent(value);
}

/** A config's page; always with its tab, so that a config named "new" is never a creation page. */
export function configHref(name, tab = "content") {
  return `#/configs/${seg(name)}/${tab}`;
}

/** A hash link. */
export function link(href, ...children) {
  return h("a", { href }, ...children);
}

export function badge(text, kind = "") {
  return h("span", { class: `badge ${kind}`.trim() }, text);
}

const STATUS_KINDS = {
  ONLINE: "ok",
  OFFLINE: "muted",
  APPLIED: "ok",
  APPLYING: "warn",
  FAILED: "bad",
  Accept: "ok",
  CREATE: "ok",
  UPDATE: "info",
  ROLLBACK: "warn",
  DELETE: "bad",
};

/** A badge colored by what the word means (ONLINE green, FAILED red...). */
export function statusBadge(text) {
  return badge(text || "—", STATUS_KINDS[text] || (text && /^[A-Z]/.test(text) ? "bad" : "muted"));
}

/** Tags as chips "name=value"; a v1 agent's tags have values only. */
export function tagChips(tags) {
  const entries = Array.isArray(tags) ? tags.map((tag) => [tag.name, tag.value]) : Object.entries(tags || {});
  if (!entries.length) return h("span", { class: "muted" }, "no tags");
  return h(
    "span",
    { class: "chips" },
    entries.map(([name, value]) => h("span", { class: "chip" }, value ? `${name}=${value}` : name)),
  );
}

function pad(number) {
  return String(number).padStart(2, "0");
}

/** Unix seconds as local "YYYY-MM-DD HH:MM:SS"; 0 is "never" (the server's zero means unset). */
export function when(seconds) {
  const value = Number(seconds || 0);
  if (!value) return "—";
  const d = new Date(value * 1000);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** "42 s ago", "5 min ago"...: how fresh a heartbeat is matters more than its date. */
export function ago(seconds) {
  const value = Number(seconds || 0);
  if (!value) return "never";
  const elapsed = Math.max(0, Math.round(Date.now() / 1000 - value));
  if (elapsed < 60) return `${elapsed} s ago`;
  if (elapsed < 3600) return `${Math.floor(elapsed / 60)} min ago`;
  if (elapsed < 86400) return `${Math.floor(elapsed / 3600)} h ago`;
  return `${Math.floor(elapsed / 86400)} d ago`;
}

/** A time cell: the relative age, with the exact time as its tooltip. */
export function timeCell(seconds) {
  return h("time", { title: when(seconds) }, ago(seconds));
}

const SIZE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** A number of bytes as it is read: "512 B", "1.5 KiB", "180 MiB" (one decimal below 100 of a unit). */
export function humanSize(bytes) {
  let value = Math.max(0, Number(bytes) || 0);
  let unit = 0;
  const rounded = () => Number(value.toFixed(value < 100 ? 1 : 0));
  while (unit < SIZE_UNITS.length - 1 && (unit === 0 ? value : rounded()) >= 1024) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : rounded()} ${SIZE_UNITS[unit]}`;
}

/** A size cell: the size as it is read, with the exact number of bytes as its tooltip. */
export function sizeCell(bytes) {
  const count = Number(bytes) || 0;
  return h("span", { class: "size", title: `${count.toLocaleString("en")} bytes` }, humanSize(count));
}

/** UTF-8 bytes of a text: what the server counts against its limits, and what agents download. */
export function utf8Bytes(text) {
  return new TextEncoder().encode(text || "").length;
}

/** A table from column headings and rows of cells (strings or nodes). */
export function table(headings, rows, attributes = {}) {
  return h(
    "table",
    attributes,
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headings.map((heading) => h("th", {}, heading)),
      ),
    ),
    h(
      "tbody",
      {},
      rows.length
        ? rows.map((row) =>
            row instanceof Node
              ? row
              : h(
                  "tr",
                  {},
                  row.map((cell) => h("td", {}, cell)),
                ),
          )
        : h("tr", {}, h("td", { colspan: headings.length, class: "empty" }, "Nothing here.")),
    ),
  );
}

/** A definition list from [term, value] pairs. */
export function facts(pairs) {
  return h(
    "dl",
    { class: "facts" },
    pairs.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value === "" ? "—" : value)]),
  );
}

/** A titled card; data-section names it for tests and styles. */
export function section(title, ...children) {
  return h("section", { class: "card", "data-section": title }, h("h2", {}, title), ...children);
}

/** A message box; `kind` is "error", "ok" or "warn". */
export function notice(kind, ...children) {
  return h("div", { class: `notice ${kind}`, role: kind.startsWith("error") ? "alert" : "status" }, ...children);
}

/** What went wrong, for the operator: the server's code and message. */
export function describe(error) {
  if (error instanceof ApiError) return `${error.code}: ${error.message}`;
  // fetch rejects with a TypeError when the request never got an answer.
  if (error instanceof TypeError && /fetch|network/i.test(error.message)) {
    return `The server could not be reached (${error.message}).`;
  }
  return `Something went wrong in the console: ${error.message}`;
}

export function errorNotice(error) {
  return notice("error", describe(error));
}

/** A labelled form field. */
export function field(label, control, hint = "") {
  return h("label", { class: "field" }, h("span", { class: "label" }, label), control, hint && h("small", {}, hint));
}

/** The optional "why" every write takes, recorded in the audit trail and the config history. */
export function reasonInput(placeholder = "Why? (optional: recorded in the audit trail)") {
  return h("input", {
    type: "text",
    class: "reason",
    name: "reason",
    maxlength: 4096,
    placeholder,
    "data-write": true,
  });
}

/** A button that only editors see: every write control carries data-write (a viewer gets none). */
export function writeButton(label, onclick, kind = "") {
  return h("button", { type: "button", class: kind, onclick, "data-write": true }, label);
}

/** A <select> of [value, label] pairs (or plain values). */
export function select(options, value, attributes = {}) {
  return h(
    "select",
    attributes,
    options.map((option) => {
      const [optionValue, label] = Array.isArray(option) ? option : [option, option];
      return h("option", { value: optionValue, selected: optionValue === value }, label);
    }),
  );
}

/**
 * Ask before a write: a modal dialog with the optional reason, confirm and cancel. `action(reason)` runs on
 * confirm; its refusal is shown in the dialog, which stays open so the operator can read it.
 */
export function confirmWrite({ title, body, confirm, danger = false, action }) {
  const reason = reasonInput();
  const error = h("div", { class: "dialog-error" });
  const confirmButton = h(
    "button",
    { type: "submit", class: danger ? "danger" : "primary", "data-write": true },
    confirm,
  );
  const dialog = h(
    "dialog",
    { class: "confirm" },
    h(
      "form",
      {
        onsubmit: async (event) => {
          // The form never submits: the CSP says form-action 'none', and the write goes through fetch.
          event.preventDefault();
          confirmButton.disabled = true;
          try {
            await action(reason.value);
            dialog.close();
          } catch (failure) {
            fill(error, errorNotice(failure));
          } finally {
            confirmButton.disabled = false;
          }
        },
      },
      h("h2", {}, title),
      h("p", {}, body),
      field("Reason", reason),
      error,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", onclick: () => dialog.close() }, "Cancel"),
        confirmButton,
      ),
    ),
  );
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  reason.focus();
}

/** A stacked bar of parts [{value, kind}] out of `total`; widths through CSSOM (allowed by the CSP). */
export function bar(parts, total, label) {
  const element = h("div", { class: "bar", role: "img", "aria-label": label, title: label });
  for (const part of parts) {
    const span = h("span", { class: part.kind });
    span.style.width = total ? `${(100 * part.value) / total}%` : "0";
    element.append(span);
  }
  return element;
}

/** A "loading" placeholder, replaced when the data comes. */
export function loading() {
  return h("p", { class: "muted loading" }, "Loading…");
}
