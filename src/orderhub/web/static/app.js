// orderhub web UI: the few things the server cannot do.
"use strict";

// Times in the browser's own zone: the server writes <time datetime=ISO data-local>UTC</time>.
function showLocalTimes(root) {
  const format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  for (const node of root.querySelectorAll("time[data-local]")) {
    const when = new Date(node.getAttribute("datetime"));
    if (!Number.isNaN(when.getTime())) {
      node.textContent = format.format(when);
      node.title = node.getAttribute("datetime");
    }
  }
}

document.addEventListener("DOMContentLoaded", () => showLocalTimes(document));
document.addEventListener("htmx:afterSwap", (event) => showLocalTimes(event.target));

// Every htmx request carries the session's CSRF token, as every form does.
document.addEventListener("htmx:configRequest", (event) => {
  const token = document.body.dataset.csrf;
  if (token) event.detail.headers["X-CSRF-Token"] = token;
});

// Print views (packing slip, pick list): a Print button.
document.addEventListener("click", (event) => {
  if (event.target.closest && event.target.closest("[data-print]")) window.print();
});

// "Copy" buttons of a value shown once (an API key, a signing secret): data-copy="<input id>".
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copy);
  if (!field) return;
  field.select();
  const done = () => {
    const note = document.querySelector(`[data-copied="${button.dataset.copy}"]`);
    if (note) note.hidden = false;
  };
  if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, () => {});
  else if (document.execCommand("copy")) done();
});

// A form that undoes something for good asks first: <form data-confirm="Delete it?">.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset ? event.target.dataset.confirm : undefined;
  if (question && !window.confirm(question)) event.preventDefault();
});

// Orders list: a header checkbox selects every row's checkbox of its form (data-select-all).
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.dataset.selectAll) return;
  const form = CSS.escape(box.dataset.selectAll);
  for (const row of document.querySelectorAll(`input[type="checkbox"][form="${form}"]`)) {
    row.checked = box.checked;
  }
});

// A table wider than the screen scrolls inside its .table-wrap: that region must be reachable
// by keyboard (Tab to it, then the arrow keys scroll it) and named, after its table's caption
// or aria-label, else the heading before it. Marked only while it scrolls (no useless Tab stop).
function tableName(wrap) {
  const table = wrap.querySelector("table");
  const named = table && (table.caption?.textContent || table.getAttribute("aria-label"));
  if (named && named.trim()) return named.trim();
  for (let node = wrap.previousElementSibling; node; node = node.previousElementSibling) {
    if (/^H[1-6]$/.test(node.tagName)) return node.textContent.trim();
  }
  return "Table";
}

function markScrollingTables(root) {
  for (const wrap of root.querySelectorAll(".table-wrap")) {
    const scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
    if (scrolls && !wrap.hasAttribute("tabindex")) {
      wrap.dataset.scrolls = wrap.hasAttribute("aria-label") ? "" : "named";
      wrap.tabIndex = 0;
      wrap.setAttribute("role", "region");
      if (wrap.dataset.scrolls === "named") wrap.setAttribute("aria-label", tableName(wrap));
    } else if (!scrolls && "scrolls" in wrap.dataset) {
      if (wrap.dataset.scrolls === "named") wrap.removeAttribute("aria-label");
      for (const name of ["tabindex", "role", "data-scrolls"]) wrap.removeAttribute(name);
    }
  }
}

document.addEventListener("DOMContentLoaded", () => markScrollingTables(document));
document.addEventListener("htmx:afterSwap", () => markScrollingTables(document));
window.addEventListener("resize", () => markScrollingTables(document));
