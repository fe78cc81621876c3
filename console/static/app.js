// The console's entry point: sign-in, the session (who the token says we are), and the hash router.
//
// Routes live in the hash (#/agents?group=prod) so that the server serves one page and every view is a
// link an operator can share. Each route renders into a fresh element: an answer arriving after the operator
// moved on lands in a detached element and changes nothing on screen.

import * as api from "./api.js";
import { describe, fill, h, notice } from "./dom.js";
import { auditPage } from "./audit.js";
import { agentPage, agentsPage } from "./agents.js";
import { configPage, configsPage, newConfigPage } from "./configs.js";
import { groupPage, groupsPage, newGroupPage } from "./groups.js";
import { overviewPage } from "./overview.js";

const main = document.getElementById("main");
const who = document.getElementById("who");
const flashArea = document.getElementById("flash");

/** Who is signed in: {actor, role, canWrite}; null before sign-in. */
let session = null;
/** What the page being shown asked to run when it is left (timers). */
let cleanups = [];
/** A message for the next page (what a write did, shown after navigating away from its form). */
let pending = null;

const ROUTES = [
  [/^\/?$/, () => overviewPage],
  [/^\/overview$/, () => overviewPage],
  [/^\/agents$/, () => agentsPage],
  [/^\/agents\/(.+)$/, () => agentPage],
  [/^\/groups$/, () => groupsPage],
  [/^\/groups\/(.+)$/, () => groupPage],
  [/^\/new-group$/, () => newGroupPage],
  [/^\/configs$/, () => configsPage],
  [/^\/new-config$/, () => newConfigPage],
  [/^\/configs\/([^/]+)(?:\/(content|history|rollout|groups))?$/, () => configPage],
  [/^\/audit$/, () => auditPage],
];

/** Split "#/agents/x?group=prod" into its path and query (path segments stay encoded until matched). */
function parseHash() {
  const raw = location.hash.replace(/^#/, "");
  const cut = raw.indexOf("?");
  const path = cut < 0 ? raw : raw.slice(0, cut);
  const query = cut < 0 ? "" : raw.slice(cut + 1);
  return { path: path || "/", query: new URLSearchParams(query) };
}

/** Show a short message above the page (kept until the next route or message). */
export function flash(text, kind = "ok") {
  fill(flashArea, notice(kind, text));
}

/** Stop what the page being left runs (its timers). */
function leavePage() {
  for (const cleanup of cleanups) cleanup();
  cleanups = [];
  main.removeAttribute("aria-busy");
}

async function route() {
  leavePage();
  fill(flashArea, pending && notice(pending.kind, pending.text));
  pending = null;
  if (!session) return;
  const { path, query } = parseHash();
  markNav(path);
  for (const [pattern, page] of ROUTES) {
    const match = pattern.exec(path);
    if (!match) continue;
    const params = match.slice(1).map((value) => (value === undefined ? undefined : decodeURIComponent(value)));
    const view = h("div", { class: "view" });
    fill(main, view);
    const context = { session, query, flash, onLeave: (cleanup) => cleanups.push(cleanup), navigate };
    // aria-busy tells assistive technology (and tests) that the page is still loading.
    main.setAttribute("aria-busy", "true");
    try {
      await page()(view, params, context);
    } catch (error) {
      view.append(notice("error", describe(error)));
    } finally {
      if (view.isConnected) main.removeAttribute("aria-busy");
    }
    return;
  }
  fill(main, notice("error", "No such page."), h("p", {}, h("a", { href: "#/overview" }, "Back to the overview")));
}

/** Go to `hash` (reloading when already there), with an optional message for the page shown. */
function navigate(hash, message = "", kind = "ok") {
  pending = message ? { text: message, kind } : null;
  if (location.hash === hash) route();
  else location.hash = hash;
}

// The creation pages sit outside /groups/ and /configs/ (a group or config may be named "new").
const NAV_ALIASES = { "/": "/overview", "/new-group": "/groups", "/new-config": "/configs" };

function markNav(path) {
  const current = NAV_ALIASES[path] || path;
  for (const anchor of document.querySelectorAll("#nav a")) {
    const section = anchor.getAttribute("href").slice(1);
    anchor.classList.toggle("active", current === section || current.startsWith(`${section}/`));
  }
}

/** Ask the server who the token belongs to; it decides which controls the console shows. */
async function startSession() {
  const answer = await api.call("WhoAmI");
  session = { actor: answer.actor, role: answer.role, canWrite: answer.role === "editor" };
  document.body.classList.remove("signed-out");
  fill(
    who,
    h("span", { class: "actor" }, answer.actor),
    h("span", { class: `badge ${session.canWrite ? "info" : "muted"}`, id: "role" }, answer.role),
    h("button", { type: "button", class: "link-button", onclick: signOut }, "Sign out"),
  );
}

function signOut() {
  api.forgetToken();
  showSignIn();
}

function showSignIn(message = "") {
  leavePage();
  session = null;
  document.body.classList.add("signed-out");
  fill(who);
  fill(flashArea);
  const input = h("input", {
    type: "password",
    id: "token",
    name: "token",
    autocomplete: "off",
    spellcheck: "false",
    placeholder: "User API token",
  });
  const error = h("div", {}, message && notice("error", message));
  const form = h(
    "form",
    { class: "card signin", onsubmit: (event) => signIn(event, input, error) },
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, "Paste a User API token. Leave it empty when the server has no tokens."),
    h("label", { class: "field" }, h("span", { class: "label" }, "Token"), input),
    error,
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  fill(main, form);
  input.focus();
}

async function signIn(event, input, error) {
  // Never a real form submission: the CSP forbids it (form-action 'none') and the token must not be in a URL.
  event.preventDefault();
  api.saveToken(input.value.trim());
  try {
    await startSession();
  } catch (failure) {
    api.forgetToken();
    const text =
      failure instanceof api.ApiError && failure.status === 401 ? "That token was refused." : describe(failure);
    fill(error, notice("error", text));
    return;
  }
  route();
}

api.whenUnauthenticated(() => {
  // The token stopped working (rotated, or the server restarted with other tokens): sign in again.
  if (!session) return;
  api.forgetToken();
  showSignIn("The server no longer accepts this token: sign in again.");
});

window.addEventListener("hashchange", route);

// A click whose write or read failed outside a page's own handling (a pager, a refresh): say so on the page
// rather than only in the browser's console.
window.addEventListener("unhandledrejection", (event) => {
  if (session) flash(describe(event.reason), "error");
  // A refusal is expected and now shown; anything else is a bug, left for the browser's console too.
  if (event.reason instanceof api.ApiError) event.preventDefault();
});

async function boot() {
  if (!api.hasSession()) {
    showSignIn();
    return;
  }
  try {
    await startSession();
  } catch (error) {
    api.forgetToken();
    showSignIn(describe(error));
    return;
  }
  route();
}

boot();
