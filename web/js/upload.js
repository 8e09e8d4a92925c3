// Uploading a folder: the API hands out a presigned POST for a new folder under a base URI
// the user may register in; the files go straight to S3, the sidecar dataset.json last; the
// catalogue registers the folder from S3's events, and the page waits until it is there.
import { call } from "./api.js";
import { alert, bytes, fill, h, show } from "./dom.js";

const WAIT_TRIES = 120;
const WAIT_MS = 1000;

function postFile(form, key, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const data = new FormData();
    for (const [name, value] of Object.entries(form.fields)) data.append(name, value);
    data.append("key", key);
    data.append("file", blob);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.url);
    xhr.upload.addEventListener("progress", (event) => onProgress(event.loaded));
    xhr.addEventListener("load", () => (xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`S3 refused ${key} (HTTP ${xhr.status})`))));
    xhr.addEventListener("error", () => reject(new Error(`${key} could not be sent`)));
    xhr.send(data);
  });
}

function relativePath(file) {
  const path = file.webkitRelativePath || file.name;
  // a chosen directory's name leads every path: the folder name takes its place
  return file.webkitRelativePath ? path.split("/").slice(1).join("/") : path;
}

async function waitForDataset(uuid, baseUri, status) {
  for (let i = 0; i < WAIT_TRIES; i += 1) {
    try {
      await call(`/datasets/${encodeURIComponent(uuid)}`, { query: { base_uri: baseUri } });
      return true;
    } catch (err) {
      if (err.status !== 404) throw err;
    }
    status.textContent = `Uploaded. Waiting for the catalogue to register it… (${i + 1} s)`;
    await new Promise((resolve) => setTimeout(resolve, WAIT_MS));
  }
  return false;
}

async function baseUrisFor(me) {
  if (!me.is_admin) return me.register_permissions_on_base_uris || [];
  const listed = await call("/base-uris", { query: { page_size: "100" } });
  const rows = Array.isArray(listed.body) ? listed.body : listed.body.items || [];
  return rows.map((r) => r.base_uri).filter((b) => b.startsWith("s3://"));
}

export async function uploadPage() {
  show(h("p", { class: "status", role: "status" }, "Loading…"));
  let choices;
  try {
    const me = (await call("/users/me")).body;
    choices = (await baseUrisFor(me)).filter((b) => b.startsWith("s3://"));
  } catch (err) {
    show(h("h1", {}, "Upload a folder"), alert(err.message));
    return;
  }
  if (!choices.length) {
    show(h("h1", {}, "Upload a folder"), h("p", {}, "You may not register data under any S3 base URI. Ask an admin for register permission."));
    return;
  }
  const field = (id, label, input, hint) => h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null);
  const baseUri = h("select", { id: "up-base-uri", name: "base_uri", required: true }, choices.map((b) => h("option", { value: b }, b)));
  const folder = h("input", { id: "up-folder", name: "folder", required: true, pattern: "[A-Za-z0-9._\\-]+(/[A-Za-z0-9._\\-]+)*", "aria-describedby": "up-folder-hint" });
  const name = h("input", { id: "up-name", name: "name", required: true });
  const description = h("textarea", { id: "up-description", name: "description", rows: "2" });
  const tags = h("input", { id: "up-tags", name: "tags", "aria-describedby": "up-tags-hint" });
  const readme = h("textarea", { id: "up-readme", name: "readme", rows: "4" });
  const files = h("input", { id: "up-files", name: "files", type: "file", multiple: true, required: true, "aria-describedby": "up-files-hint" });
  const directory = h("input", { id: "up-directory", type: "checkbox" });
  directory.addEventListener("change", () => { files.toggleAttribute("webkitdirectory", directory.checked); files.value = ""; });
  const progress = h("progress", { id: "up-progress", max: "1", value: "0", hidden: true });
  const status = h("p", { class: "status", role: "status", id: "up-status", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Upload");
  const form = h("form", { class: "upload" },
    field("up-base-uri", "Base URI", baseUri),
    field("up-folder", "Folder name", folder, "Letters, digits, '.', '_' and '-'; '/' between folders. It must not exist yet."),
    field("up-name", "Dataset name", name),
    field("up-description", "Description", description),
    field("up-tags", "Tags", tags, "Separated by commas."),
    field("up-readme", "README", readme),
    h("div", { class: "field inline" }, directory, h("label", { for: "up-directory" }, "Choose a whole directory")),
    field("up-files", "Files", files, "Each file at most 5 GiB."),
    submit, progress, status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = [...files.files];
    if (!chosen.length) { status.textContent = "Choose at least one file."; return; }
    submit.disabled = true;
    try {
      const upload = (await call("/uploads", { method: "POST", body: { base_uri: baseUri.value, folder: folder.value.trim() } })).body;
      const sidecar = {
        name: name.value.trim(),
        creator: upload.creator,
        description: description.value.trim() || undefined,
        tags: tags.value.split(",").map((t) => t.trim()).filter(Boolean),
        readme: readme.value || undefined,
      };
      const total = chosen.reduce((sum, f) => sum + f.size, 0) || 1;
      let done = 0;
      progress.hidden = false;
      for (const [i, file] of chosen.entries()) {
        const path = relativePath(file);
        if (path === upload.sidecar) throw new Error(`${upload.sidecar} is written by this page; rename that file`);
        status.textContent = `Uploading ${path} (${i + 1} of ${chosen.length}, ${bytes(file.size)})…`;
        await postFile(upload, upload.key_prefix + path, file, (loaded) => { progress.value = (done + loaded) / total; });
        done += file.size;
      }
      const json = new Blob([JSON.stringify(sidecar, null, 2)], { type: "application/json" });
      await postFile(upload, upload.key_prefix + upload.sidecar, json, () => {});
      progress.value = 1;
      status.textContent = "Uploaded. Waiting for the catalogue to register it…";
      const found = await waitForDataset(upload.uuid, upload.base_uri, status);
      const link = `#/datasets/${encodeURIComponent(upload.uuid)}?base_uri=${encodeURIComponent(upload.base_uri)}`;
      fill(status, found
        ? h("span", {}, "Registered: ", h("a", { href: link, id: "up-dataset-link" }, sidecar.name || upload.folder))
        : "Uploaded, but not registered yet: look for it in a minute.");
    } catch (err) {
      fill(status, alert(err.message));
    } finally {
      submit.disabled = false;
    }
  });
  show(h("h1", {}, "Upload a folder"), h("p", {}, "The files become a dataset: searchable as soon as the catalogue has read them."), form);
}
