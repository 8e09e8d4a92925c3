// The search page: free text, facets (base URI, creator, tag, project, type) that filter when
// ticked, hits with the matched words highlighted, and paging.
import { call } from "./api.js";
import { alert, bytes, fill, h, show, snippet } from "./dom.js";

const FACETS = [
  ["base_uri", "Base URI"],
  ["creator", "Creator"],
  ["tag", "Tag"],
  ["project", "Project"],
  ["type", "Type"],
];
// how each value of the type facet reads (the API's `kind` of an entry)
export const KIND_LABELS = {
  dtool: "dtool dataset",
  folder: "folder",
  bag: "BagIt bag",
  facility: "facility data",
  submission: "published submission",
  record: "described record",
};
const PAGE_SIZE = 10;
const SNIPPET_FIELDS = { name: "name", description: "description", readme_text: "README", annotations_text: "annotations", relpaths: "files" };

function hashFor(params) {
  const query = new URLSearchParams();
  for (const [name, values] of Object.entries(params)) for (const v of [].concat(values)) if (v) query.append(name, v);
  const text = query.toString();
  return `#/search${text ? `?${text}` : ""}`;
}

function filters(query) {
  const out = { q: query.get("q") || "" };
  for (const [name] of FACETS) out[name] = query.getAll(name);
  return out;
}

function searchForm(current) {
  const input = h("input", { type: "search", id: "q", name: "q", value: current.q, autocomplete: "off", placeholder: "words of a name, README, annotation or file" });
  const form = h("form", { class: "search", role: "search" },
    h("label", { for: "q" }, "Search datasets"),
    h("div", { class: "row" }, input, h("button", { type: "submit" }, "Search")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = hashFor({ ...current, q: input.value.trim(), page: "" });
  });
  return form;
}

function facetPanel(current, facets) {
  const panel = h("aside", { class: "facets", "aria-label": "Filters" }, h("h2", {}, "Filter"));
  for (const [name, label] of FACETS) {
    const values = (facets && facets[name]) || [];
    const chosen = new Set(current[name]);
    if (!values.length && !chosen.size) continue;
    const fieldset = h("fieldset", {}, h("legend", {}, label));
    const listed = new Set(values.map((v) => v.value));
    const rows = values.concat([...chosen].filter((v) => !listed.has(v)).map((value) => ({ value, count: 0 })));
    rows.forEach(({ value, count }, i) => {
      const id = `facet-${name}-${i}`;
      const box = h("input", { type: "checkbox", id, "data-facet": name, value, checked: chosen.has(value) });
      box.addEventListener("change", () => {
        const next = new Set(current[name]);
        if (box.checked) next.add(value); else next.delete(value);
        location.hash = hashFor({ ...current, [name]: [...next], page: "" });
      });
      fieldset.append(h("div", { class: "facet" }, box, h("label", { for: id }, (name === "type" && KIND_LABELS[value]) || value, " ", h("span", { class: "count" }, `(${count})`))));
    });
    panel.append(fieldset);
  }
  return panel;
}

function hit(item) {
  const link = `#/datasets/${encodeURIComponent(item.uuid)}?base_uri=${encodeURIComponent(item.base_uri || "")}`;
  const snippets = [];
  for (const [field, label] of Object.entries(SNIPPET_FIELDS)) {
    for (const text of (item.highlights && item.highlights[field]) || []) {
      snippets.push(h("li", {}, h("span", { class: "where" }, `${label}: `), snippet(text)));
    }
  }
  return h("li", { class: "hit" },
    h("h3", {}, h("a", { href: link }, item.name || item.uuid)),
    h("p", { class: "meta" },
      `${KIND_LABELS[item.kind] || item.kind || "dataset"} · ${item.creator_username || "unknown creator"} · ${item.base_uri || ""} · ${item.number_of_items ?? "?"} files, ${bytes(item.size_in_bytes)}`),
    (item.tags || []).length ? h("p", { class: "tags" }, (item.tags || []).map((t) => [h("span", { class: "tag" }, t), " "])) : null,
    snippets.length ? h("ul", { class: "snippets" }, snippets.slice(0, 4)) : null,
  );
}

function pager(current, page, totalPages) {
  if (totalPages <= 1) return null;
  const nav = h("nav", { class: "pager", "aria-label": "Pages" });
  if (page > 1) nav.append(h("a", { href: hashFor({ ...current, page: String(page - 1) }), rel: "prev" }, "← Previous"));
  nav.append(h("span", { "aria-current": "page" }, `Page ${page} of ${totalPages}`));
  if (page < totalPages) nav.append(h("a", { href: hashFor({ ...current, page: String(page + 1) }), rel: "next" }, "Next →"));
  return nav;
}

export async function searchPage(query) {
  const current = filters(query);
  const page = Math.max(1, parseInt(query.get("page") || "1", 10) || 1);
  current.page = page > 1 ? String(page) : "";
  const params = { ...current, page: String(page), page_size: String(PAGE_SIZE), highlight: current.q ? "true" : "" };
  // the form is rendered once: typing into it never races the results arriving
  const results = h("div", { id: "results", "aria-busy": "true" }, h("p", { class: "status", role: "status" }, "Searching…"));
  show(h("h1", {}, "Search"), searchForm(current), results);
  const facetParams = { q: current.q };
  for (const [name] of FACETS) facetParams[name] = current[name];
  try {
    const [found, facets] = await Promise.all([
      call("/datasets", { query: params }),
      call("/datasets/facets", { query: facetParams }),
    ]);
    const { items, total, total_pages: totalPages } = found.body;
    const summary = total === 0 ? "No datasets found." : `${total} dataset${total === 1 ? "" : "s"} found.`;
    fill(results,
      h("div", { class: "results-layout" },
        facetPanel(current, facets.body.facets),
        h("section", { class: "results", "aria-label": "Results" },
          // data-q: which search this count answers (tests wait for theirs)
          h("p", { class: "status", role: "status", id: "result-count", "data-q": current.q }, summary),
          h("ol", { class: "hits" }, items.map(hit)),
          pager(current, page, totalPages),
        ),
      ),
    );
  } catch (err) {
    fill(results, alert(err.message));
  } finally {
    results.setAttribute("aria-busy", "false");
  }
}
