// The catalogue's web page: a hash router over the views, sign-in first. No build step: ES
// modules the browser loads as they are. config.json (written by the CDK deployment, or by
// the local stack) says where the API and the sign-in are.
import { call, configure } from "./js/api.js";
import { completeSignIn, signIn, signOut, token } from "./js/auth.js";
import { datasetPage, dropJsonLd } from "./js/dataset.js";
import { alert, h, show } from "./js/dom.js";
import { collectionsPage, projectPage, projectsPage, submissionsPage } from "./js/lists.js";
import { searchPage } from "./js/search.js";
import { uploadPage } from "./js/upload.js";

let config = null;
let me = null;

function chrome() {
  const who = document.getElementById("who");
  const nav = document.getElementById("nav");
  nav.hidden = !token();
  if (!token()) {
    who.replaceChildren(h("button", { type: "button", id: "sign-in", on: { click: () => signIn(config) } }, "Sign in"));
    return;
  }
  const out = h("button", { type: "button", id: "sign-out", on: { click: () => { signOut(); me = null; route(); } } }, "Sign out");
  who.replaceChildren(h("span", { id: "signed-in-as" }, me ? `Signed in as ${me.username}` : "Signed in"), " ", out);
}

function welcome(problem) {
  show(
    h("h1", {}, "Research data catalogue"),
    problem ? alert(problem) : null,
    h("p", {}, "Find datasets by any word of their name, README, annotations or file names; open one to read its README and files, archive it, or upload a new folder."),
    h("p", {}, h("button", { type: "button", id: "sign-in-main", on: { click: () => signIn(config) } }, "Sign in to search")),
  );
}

async function route() {
  const raw = location.hash.replace(/^#/, "") || "/search";
  const [path, rawQuery] = raw.split("?", 2);
  const query = new URLSearchParams(rawQuery || "");
  dropJsonLd(); // a dataset's JSON-LD leaves with its view (the dataset view adds its own)
  if (!token()) {
    chrome();
    welcome(null);
    return;
  }
  if (!me) {
    try {
      me = (await call("/users/me")).body;
    } catch {
      me = null;
      if (!token()) return; // the token was refused: signed out, the welcome is shown
    }
  }
  chrome();
  const dataset = path.match(/^\/datasets\/([0-9a-f-]{36})$/);
  if (dataset) await datasetPage(dataset[1], query);
  else if (path === "/upload") await uploadPage();
  else if (path === "/projects") await projectsPage(query);
  else if (path === "/project") await projectPage(query, config.mymdc_path || "/mymdc/api");
  else if (path === "/collections") await collectionsPage(query);
  else if (path === "/submissions") await submissionsPage(query);
  else await searchPage(query);
  document.getElementById("main").focus({ preventScroll: true });
}

async function start() {
  try {
    const answer = await fetch("config.json", { cache: "no-store" });
    if (!answer.ok) throw new Error(`config.json: HTTP ${answer.status}`);
    config = await answer.json();
  } catch (err) {
    show(alert(`This page is not configured: ${err.message}`));
    return;
  }
  document.getElementById("docs-link").href = `${config.api_url.replace(/\/$/, "")}/docs`;
  configure(config.api_url, () => { me = null; chrome(); welcome("Your session ended; sign in again."); });
  const problem = await completeSignIn(config);
  window.addEventListener("hashchange", route);
  if (problem) {
    chrome();
    welcome(problem);
    return;
  }
  await route();
}

start();
