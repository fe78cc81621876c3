// A line diff of two config revisions: longest common subsequence, rendered as a unified diff.

import { h } from "./dom.js";

// The LCS table holds (n+1)*(m+1) cells: beyond this the browser would stall, so a change that large is
// shown as "everything removed, everything added" (still correct, only less precise).
const MAX_CELLS = 4_000_000;
const CONTEXT = 3;

/**
 * The edit script from `before` to `after` (strings): [{op: "=" | "-" | "+", text, a, b}], where a and b are
 * 1-based line numbers in each side (absent on the side a line is not in).
 */
export function diffLines(before, after) {
  const a = before.split("\n");
  const b = after.split("\n");
  // Common head and tail are most of a typical edit: trimming them keeps the table small.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) {
    tail++;
  }
  const script = [];
  for (let i = 0; i < head; i++) script.push({ op: "=", text: a[i], a: i + 1, b: i + 1 });
  script.push(...middle(a.slice(head, a.length - tail), b.slice(head, b.length - tail), head));
  for (let k = tail; k > 0; k--) {
    script.push({ op: "=", text: a[a.length - k], a: a.length - k + 1, b: b.length - k + 1 });
  }
  return script;
}

/** The edit script of the differing middle, numbered from `offset`. */
function middle(a, b, offset) {
  const n = a.length;
  const m = b.length;
  if ((n + 1) * (m + 1) > MAX_CELLS) {
    return [
      ...a.map((text, i) => ({ op: "-", text, a: offset + i + 1 })),
      ...b.map((text, j) => ({ op: "+", text, b: offset + j + 1 })),
    ];
  }
  // lcs[i][j]: length of the LCS of a[i..] and b[j..]; filled from the end so the walk below goes forward.
  const width = m + 1;
  const lcs = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * width + j] =
        a[i] === b[j] ? lcs[(i + 1) * width + j + 1] + 1 : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  const script = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      script.push({ op: "=", text: a[i], a: offset + i + 1, b: offset + j + 1 });
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i * width + j + 1] >= lcs[(i + 1) * width + j])) {
      script.push({ op: "+", text: b[j], b: offset + j + 1 });
      j++;
    } else {
      script.push({ op: "-", text: a[i], a: offset + i + 1 });
      i++;
    }
  }
  // Removals before additions within a change reads better, as `diff -u` prints it.
  return groupChanges(script);
}

/** Within each run of changed lines, put the removed lines before the added ones. */
function groupChanges(script) {
  const out = [];
  let removed = [];
  let added = [];
  const flush = () => {
    out.push(...removed, ...added);
    removed = [];
    added = [];
  };
  for (const line of script) {
    if (line.op === "-") removed.push(line);
    else if (line.op === "+") added.push(line);
    else {
      flush();
      out.push(line);
    }
  }
  flush();
  return out;
}

/** Counts of added and removed lines. */
export function diffStats(script) {
  let added = 0;
  let removed = 0;
  for (const line of script) {
    if (line.op === "+") added++;
    else if (line.op === "-") removed++;
  }
  return { added, removed };
}

/** The unified diff as a table: changes with CONTEXT lines around them, longer unchanged runs folded. */
export function renderDiff(script) {
  const { added, removed } = diffStats(script);
  const rows = [];
  const keep = script.map((line, index) => line.op !== "=" || near(script, index));
  for (let index = 0; index < script.length;) {
    if (keep[index]) {
      rows.push(diffRow(script[index]));
      index++;
      continue;
    }
    const start = index;
    while (index < script.length && !keep[index]) index++;
    rows.push(foldRow(index - start));
  }
  const summary = added || removed ? `+${added} −${removed} lines` : "No differences.";
  return h(
    "div",
    { class: "diff" },
    h("p", { class: "diff-summary" }, summary),
    added || removed ? h("table", { class: "diff-lines" }, h("tbody", {}, rows)) : null,
  );
}

function near(script, index) {
  for (let k = Math.max(0, index - CONTEXT); k <= Math.min(script.length - 1, index + CONTEXT); k++) {
    if (script[k].op !== "=") return true;
  }
  return false;
}

const ROW_CLASS = { "=": "same", "+": "added", "-": "removed" };
const MARK = { "=": " ", "+": "+", "-": "−" };

function diffRow(line) {
  return h(
    "tr",
    { class: ROW_CLASS[line.op] },
    h("td", { class: "ln" }, line.a ?? ""),
    h("td", { class: "ln" }, line.b ?? ""),
    h("td", { class: "mark" }, MARK[line.op]),
    h("td", { class: "code" }, line.text),
  );
}

function foldRow(count) {
  return h("tr", { class: "fold" }, h("td", { colspan: 4 }, `⋯ ${count} unchanged line${count === 1 ? "" : "s"}`));
}
