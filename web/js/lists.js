// Projects (orders and facility proposals), collections and metadata submissions: paged
// lists of what the signed-in user may see, each row leading to its datasets.
import { call } from "./api.js";
import { alert, h, show, table, when } from "./dom.js";

const PAGE_SIZE = 20;

function rowsOf(body) {
  return Array.isArray(body) ? body : body.items || body.folders || [];
}

function pager(path, page, headers) {
  const totalPages = parseInt(headers.get("X-Total-Pages") || "1", 10);
  if (totalPages <= 1) return null;
  const nav = h("nav", { class: "pager", "aria-label": "Pages" });
  if (page > 1) nav.append(h("a", { href: `#${path}?page=${page - 1}`, rel: "prev" }, "← Previous"));
  nav.append(h("span", { "aria-current": "page" }, `Page ${page} of ${totalPages}`));
  if (page < totalPages) nav.append(h("a", { href: `#${path}?page=${page + 1}`, rel: "next" }, "Next →"));
  return nav;
}

async function listPage(title, path, apiPath, columns, query) {
  const page = Math.max(1, parseInt(query.get("page") || "1", 10) || 1);
  show(h("h1", {}, title), h("p", { class: "status", role: "status" }, "Loading…"));
  try {
    const answer = await call(apiPath, { query: { page: String(page), page_size: String(PAGE_SIZE) } });
    const rows = rowsOf(answer.body);
    show(
      h("h1", {}, title),
      rows.length ? table(title, columns, rows) : h("p", { class: "status", role: "status" }, `No ${title.toLowerCase()} you may see.`),
      pager(path, page, answer.headers),
    );
  } catch (err) {
    show(h("h1", {}, title), alert(err.message));
  }
}

const datasetsOf = (project) => h("a", { href: `#/search?project=${encodeURIComponent(project)}` }, "datasets");

export function projectsPage(query) {
  return listPage("Projects", "/projects", "/projects", [
    ["Title", (p) => p.title || p._id],
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
