// Projects (orders and facility proposals), collections and metadata submissions: paged
// lists of what the signed-in user may see, each row leading to its datasets.
import { call } from "./api.js";
import { alert, fill, h, show, table, when } from "./dom.js";

const PAGE_SIZE = 20;

function rowsOf(body) {
  return Array.isArray(body) ? body : body.items || body.folders || [];
}

function pager(path, page, headers, extra = "") {
  const totalPages = parseInt(headers.get("X-Total-Pages") || "1", 10);
  if (totalPages <= 1) return null;
  const to = (n) => `#${path}?${extra ? `${extra}&` : ""}page=${n}`;
  const nav = h("nav", { class: "pager", "aria-label": "Pages" });
  if (page > 1) nav.append(h("a", { href: to(page - 1), rel: "prev" }, "← Previous"));
  nav.append(h("span", { "aria-current": "page" }, `Page ${page} of ${totalPages}`));
  if (page < totalPages) nav.append(h("a", { href: to(page + 1), rel: "next" }, "Next →"));
  return nav;
}

async function listPage(title, path, apiPath, columns, query) {
  const page = Math.max(1, parseInt(query.get("page") || "1", 10) || 1);
  const words = query.get("q") || "";
  const input = h("input", { type: "search", id: "list-q", value: words, autocomplete: "off" });
  const form = h("form", { class: "search", role: "search" },
    h("label", { for: "list-q" }, `Filter ${title.toLowerCase()} by words`),
    h("div", { class: "row" }, input, h("button", { type: "submit" }, "Filter")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = input.value.trim();
    location.hash = `#${path}${next ? `?${new URLSearchParams({ q: next })}` : ""}`;
  });
  const area = h("div", { id: "list-area", "aria-busy": "true" }, h("p", { class: "status", role: "status" }, "Loading…"));
  show(h("h1", {}, title), form, area);
  try {
    const answer = await call(apiPath, { query: { q: words, page: String(page), page_size: String(PAGE_SIZE) } });
    const rows = rowsOf(answer.body);
    fill(area,
      rows.length ? table(title, columns, rows) : h("p", { class: "status", role: "status" }, `No ${title.toLowerCase()} you may see.`),
      pager(path, page, answer.headers, words ? String(new URLSearchParams({ q: words })) : ""),
    );
  } catch (err) {
    fill(area, alert(err.message));
  } finally {
    area.setAttribute("aria-busy", "false");
  }
}

const datasetsOf = (project) => h("a", { href: `#/search?project=${encodeURIComponent(project)}` }, "datasets");

function projectLink(p) {
  const query = new URLSearchParams({ id: p._id, kind: p.kind || "" });
  if (p.number !== undefined && p.number !== null) query.set("number", String(p.number));
  return h("a", { href: `#/project?${query}` }, p.title || p._id);
}

export function projectsPage(query) {
  return listPage("Projects", "/projects", "/projects", [
    ["Title", projectLink],
    ["Kind", (p) => p.kind || ""],
    ["Number", (p) => String(p.number ?? p.identifier ?? "")],
    ["Description", (p) => p.description || ""],
    ["Datasets", (p) => datasetsOf(p._id)],
  ], query);
}

export function collectionsPage(query) {
  return listPage("Collections", "/collections", "/collections", [
    ["Title", (c) => c.title || c._id],
    ["Description", (c) => c.description || ""],
    ["Datasets", (c) => String((c.datasets || []).length)],
  ], query);
}

export function submissionsPage(query) {
  return listPage("Submissions", "/submissions", "/submissions/folders", [
    ["Name", (f) => f.name || f.folderId],
    ["Description", (f) => f.description || ""],
    ["Published", (f) => (f.published ? "yes" : "no")],
    ["Created", (f) => (typeof f.dateCreated === "number" ? when(f.dateCreated) : String(f.dateCreated || ""))],
  ], query);
}

const RUN_COLUMNS = [
  ["Run", (r) => String(r.run_number)],
  ["Alias", (r) => r.run_alias || ""],
  ["Begin", (r) => r.begin_at || ""],
  ["End", (r) => r.end_at || ""],
  ["Status", (r) => r.flg_status ?? ""],
  ["Files", (r) => String(r.num_files ?? "")],
  ["Sample", (r) => (r.sample && r.sample.name) || ""],
  ["Experiment", (r) => (r.experiment && r.experiment.name) || ""],
  ["Stored in", (r) => Object.values(r.repositories || {}).map((repo) => repo.name).join(", ")],
];

/** One project: a facility proposal with its runs (European XFEL's myMdC routes), or an order
 * with its datasets (the Data Tracker's); both link to their datasets in the catalogue. */
export async function projectPage(query, mymdcPath) {
  const id = query.get("id") || "";
  const kind = query.get("kind") || "";
  const page = Math.max(1, parseInt(query.get("page") || "1", 10) || 1);
  show(h("h1", {}, "Project"), h("p", { class: "status", role: "status" }, "Loading…"));
  try {
    const record = (await call(`/projects/${encodeURIComponent(id)}`)).body;
    const parts = [
      h("h1", {}, record.title || id),
      record.description ? h("p", { class: "lead" }, record.description) : null,
      h("p", {}, datasetsOf(id), " in the catalogue"),
    ];
    if (kind === "proposal" && query.get("number")) {
      const number = encodeURIComponent(query.get("number"));
      const answer = await call(`${mymdcPath}/proposals/by_number/${number}/runs`, { query: { page: String(page), page_size: String(PAGE_SIZE) } });
      const runs = answer.body.runs || [];
      const back = `/project?${new URLSearchParams({ id, kind, number: query.get("number") })}`;
      parts.push(
        h("h2", {}, "Runs"),
        runs.length ? table(`Runs of proposal ${query.get("number")}`, RUN_COLUMNS, runs) : h("p", {}, "No runs yet."),
        pager(back.replace(/\?.*/, ""), page, answer.headers, back.split("?")[1]),
      );
    } else if (kind === "order") {
      const answer = await call(`/projects/${encodeURIComponent(id)}/datasets`, { query: { page: "1", page_size: String(PAGE_SIZE) } });
      const rows = rowsOf(answer.body);
      parts.push(
        h("h2", {}, "Datasets of this order"),
        rows.length ? table("Datasets", [["Title", (d) => d.title || d._id], ["Id", (d) => h("code", {}, d._id)]], rows) : h("p", {}, "None yet."),
      );
    }
    show(...parts);
  } catch (err) {
    show(h("h1", {}, "Project"), alert(err.status === 404 ? "No such project (or you may not see it)." : err.message));
  }
}
