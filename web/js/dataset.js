// A dataset: its facts, README, annotations, tags, replicas, a paged and filtered manifest,
// the change log (where the API allows it), and archival with each step.
import { ApiError, call } from "./api.js";
import { alert, bytes, facts, fill, h, show, table, when } from "./dom.js";
import { KIND_LABELS } from "./search.js";

const MANIFEST_PAGE = 25;
const POLL_MS = 1500;
const POLL_LIMIT = 400; // about ten minutes of watching one archive
const FINAL = new Set(["archived", "failed", "rejected", "fixity_failed"]);

function readmeSection(readme) {
  const text = typeof readme === "string" ? readme : "";
  let shown = text.trim() ? h("pre", { class: "readme", tabindex: "0" }, text) : h("p", {}, "No README.");
  if (readme === null) shown = h("p", {}, "The README is too large to show here: GET /datasets/{uuid}/readme links to it.");
  return h("section", { "aria-labelledby": "readme-h" }, h("h2", { id: "readme-h" }, "README"), shown);
}

function annotationsSection(annotations) {
  const names = Object.keys(annotations || {}).sort();
  return h("section", { "aria-labelledby": "annotations-h" },
    h("h2", { id: "annotations-h" }, "Annotations"),
    names.length
      ? facts(names.map((n) => [n, typeof annotations[n] === "string" ? annotations[n] : JSON.stringify(annotations[n])]))
      : h("p", {}, "No annotations."));
}

function manifestSection(manifest) {
  const section = h("section", { "aria-labelledby": "manifest-h" }, h("h2", { id: "manifest-h" }, "Files"));
  if (manifest === null) {
    section.append(h("p", {}, "The file list is too large to show here: the API's manifest route (GET /datasets/{uuid}/manifest) links to it."));
    return section;
  }
  const items = Object.values((manifest && manifest.items) || {}).sort((a, b) => (a.relpath < b.relpath ? -1 : 1));
  const filter = h("input", { type: "search", id: "manifest-filter", autocomplete: "off" });
  const body = h("div", { id: "manifest-body" });
  let page = 1;
  const render = () => {
    const needle = filter.value.trim().toLowerCase();
    const shown = needle ? items.filter((i) => String(i.relpath).toLowerCase().includes(needle)) : items;
    const pages = Math.max(1, Math.ceil(shown.length / MANIFEST_PAGE));
    page = Math.min(page, pages);
    const rows = shown.slice((page - 1) * MANIFEST_PAGE, page * MANIFEST_PAGE);
    const nav = h("nav", { class: "pager", "aria-label": "File pages" });
    const go = (to) => h("button", { type: "button", on: { click: () => { page = to; render(); } } }, to < page ? "← Previous" : "Next →");
    if (page > 1) nav.append(go(page - 1));
    nav.append(h("span", { "aria-current": "page" }, `${shown.length} file${shown.length === 1 ? "" : "s"} · page ${page} of ${pages}`));
    if (page < pages) nav.append(go(page + 1));
    fill(body,
      table("Files", [["Path", (i) => i.relpath], ["Size", (i) => bytes(i.size_in_bytes)], ["Hash", (i) => h("code", {}, i.hash || "")]], rows),
      nav,
    );
  };
  filter.addEventListener("input", () => { page = 1; render(); });
  section.append(h("label", { for: "manifest-filter" }, "Filter files by path "), filter, body);
  render();
  return section;
}

function logSection(log) {
  if (log === null) return null; // not allowed to read it: nothing to show
  return h("section", { "aria-labelledby": "log-h" },
    h("h2", { id: "log-h" }, "Change log"),
    log.length
      ? table("Changes", [
        ["When", (e) => when(e.timestamp)],
        ["Who", (e) => (e.acting_for ? `${e.user} for ${e.acting_for}` : e.user)],
        ["What", (e) => `${e.action} ${e.entity_type}`],
      ], log)
      : h("p", {}, "No changes recorded."));
}

function stepsTable(archive) {
  return table(`Archive ${archive.id}: ${archive.status}`, [
    ["Step", (s) => s.name],
    ["Status", (s) => h("span", { class: `state state-${s.status}` }, s.status)],
    ["Attempts", (s) => String(s.attempts ?? "")],
    ["Started", (s) => when(s.started_at)],
    ["Ended", (s) => when(s.ended_at)],
    ["Error", (s) => s.error || ""],
  ], archive.steps || []);
}

async function watchArchive(id, area) {
  for (let i = 0; i < POLL_LIMIT; i += 1) {
    let archive;
    try {
      archive = (await call(`/archives/${encodeURIComponent(id)}`)).body;
    } catch (err) {
      fill(area, alert(err.message));
      return;
    }
    fill(area,
      h("p", { class: "status", role: "status", id: "archive-status" }, `Archival: ${archive.status}`),
      stepsTable(archive),
      archive.aip ? h("p", {}, `AIP: ${archive.aip.uri} (${bytes(archive.aip.size_in_bytes)}, ${archive.aip.storage_class})`) : null,
    );
    if (FINAL.has(archive.status)) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (!area.isConnected) return; // the user went elsewhere
  }
}

function archivalSection(dataset, baseUri) {
  const area = h("div", { id: "archive-area", "aria-live": "polite" });
  const history = (dataset.archival && dataset.archival.history) || [];
  const button = h("button", { type: "button", id: "archive-button" }, "Archive this dataset");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const answer = await call(`/datasets/${encodeURIComponent(dataset.uuid)}/archive`, { method: "POST", query: { base_uri: baseUri } });
      await watchArchive(answer.body.id, area);
    } catch (err) {
      fill(area, alert(err instanceof ApiError ? `${err.message} (${err.code})` : err.message));
    } finally {
      button.disabled = false;
    }
  });
  const section = h("section", { "aria-labelledby": "archival-h" }, h("h2", { id: "archival-h" }, "Archival"), button, area);
  if (history.length) watchArchive(history[0].id, area);
  else area.append(h("p", {}, "Not archived yet."));
  return section;
}

async function optional(path, query, pick, unreachable = false) {
  try {
    return pick((await call(path, { query })).body);
  } catch (err) {
    if (err instanceof ApiError && [403, 404, 413].includes(err.status)) return null;
    // a part too large for one answer is a 303 to object storage, which a page of another
    // origin may not read: shown as "too large" rather than failing the whole page
    if (unreachable && err instanceof ApiError && err.status === 0) return null;
    throw err;
  }
}

// The dataset's schema.org description (GET /datasets/{uuid}/export/schema.org) as JSON-LD in
// <head>, for search engines and other readers of the page; one at a time, and the router
// removes it on leaving the dataset's view (README "Exports").
const JSONLD_ID = "dataset-jsonld";

export function dropJsonLd() {
  const old = document.getElementById(JSONLD_ID);
  if (old) old.remove();
}

async function embedJsonLd(uuid, scope) {
  const described = await optional(`/datasets/${encodeURIComponent(uuid)}/export/schema.org`, scope, (b) => b).catch(() => null);
  // the user may have gone elsewhere while it loaded: only the dataset still shown gets it
  if (!described || !location.hash.startsWith(`#/datasets/${uuid}`)) return;
  const script = document.createElement("script");
  script.type = "application/ld+json";
  script.id = JSONLD_ID;
  // "<" escaped: the text stays JSON, and no "</script>" in a name or description can end
  // the element where the page's HTML is serialized and read again (crawlers, saved pages)
  script.textContent = JSON.stringify(described).replace(/</g, "\\u003c");
  dropJsonLd();
  document.head.append(script);
}

export async function datasetPage(uuid, query) {
  const baseUri = query.get("base_uri") || "";
  const scope = baseUri ? { base_uri: baseUri } : {};
  show(h("p", { class: "status", role: "status" }, "Loading the dataset…"));
  let dataset;
  try {
    dataset = (await call(`/datasets/${encodeURIComponent(uuid)}`, { query: scope })).body;
  } catch (err) {
    show(h("h1", {}, "Dataset"), alert(err.status === 404 ? "No such dataset (or you may not see it)." : err.message));
    return;
  }
  const [readme, manifest, annotations, log] = await Promise.all([
    optional(`/datasets/${uuid}/readme`, scope, (b) => b.readme, true),
    optional(`/datasets/${uuid}/manifest`, scope, (b) => b, true),
    optional(`/datasets/${uuid}/annotations`, scope, (b) => b.annotations),
    optional(`/datasets/${uuid}/log`, { ...scope, limit: "50" }, (b) => b.entries),
  ]).catch((err) => { show(alert(err.message)); throw err; });
  embedJsonLd(uuid, scope);
  const replicas = dataset.replicas || [];
  show(
    h("h1", {}, dataset.name || uuid),
    dataset.description ? h("p", { class: "lead" }, dataset.description) : null,
    facts([
      ["UUID", h("code", {}, dataset.uuid)],
      ["Type", KIND_LABELS[dataset.kind] || dataset.kind],
      ["Creator", dataset.creator_username],
      ["Project", dataset.project],
      ["Files", `${dataset.number_of_items ?? Object.keys((manifest && manifest.items) || {}).length}`],
      ["Size", bytes(dataset.size_in_bytes)],
      ["Created", when(dataset.created_at)],
      ["Frozen", when(dataset.frozen_at)],
      ["Tags", (dataset.tags || []).length ? (dataset.tags || []).map((t) => [h("span", { class: "tag" }, t), " "]) : "none"],
    ]),
    h("section", { "aria-labelledby": "replicas-h" },
      h("h2", { id: "replicas-h" }, "Replicas"),
      table("Where the dataset is stored", [["URI", (r) => h("code", {}, r.uri)], ["Base URI", (r) => r.base_uri], ["Registered", (r) => when(r.registered_at)], ["By", (r) => r.registered_by]], replicas)),
    archivalSection(dataset, baseUri || (replicas[0] && replicas[0].base_uri) || ""),
    readmeSection(readme),
    annotationsSection(annotations ?? dataset.annotations),
    manifestSection(manifest),
    logSection(log),
  );
}
