// Building the page without innerHTML: every value from the API becomes text, never markup.

/** An element: h("a", {href: "#/x", class: "c"}, "text", child, ...). Attributes set as
 * attributes (on*-handlers are refused: listeners go through `on`). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "on") {
      for (const [event, listener] of Object.entries(value)) el.addEventListener(event, listener);
    } else if (name.startsWith("on")) {
      throw new Error(`use {on: {...}} for ${name}`);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace an element's children (null, undefined and false are left out). */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Replace what the main region shows, and give it the focus (screen readers announce it). */
export function show(...children) {
  const main = document.getElementById("main");
  main.replaceChildren();
  append(main, children);
  return main;
}

const decoder = document.createElement("textarea");

function unescape(text) {
  // a textarea's content is text: parsing entities there runs nothing
  decoder.innerHTML = text;
  return decoder.value;
}

/** A highlight snippet from the API ("HTML-escaped text with <mark> tags") as nodes: only
 * <mark> becomes an element; everything else is text, whatever it contains. */
export function snippet(html) {
  const span = h("span", { class: "snippet" });
  const parts = String(html).split(/<\/?mark>/);
  parts.forEach((part, i) => {
    const text = unescape(part);
    if (!text) return;
    span.append(i % 2 === 1 ? h("mark", {}, text) : document.createTextNode(text));
  });
  return span;
}

export function bytes(n) {
  if (typeof n !== "number") return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

export function when(seconds) {
  if (typeof seconds !== "number") return "";
  return new Date(seconds * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

export function alert(message) {
  return h("p", { class: "alert", role: "alert" }, message);
}

/** A definition list of [label, value] pairs (values: text or nodes; empty ones are left out). */
export function facts(pairs) {
  const dl = h("dl", { class: "facts" });
  for (const [label, value] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    dl.append(h("dt", {}, label), h("dd", {}, value));
  }
  return dl;
}

/** A table with a caption; columns are [heading, row => cell]. */
export function table(caption, columns, rows) {
  return h(
    "div", { class: "scroll" },
    h("table", {},
      h("caption", {}, caption),
      h("thead", {}, h("tr", {}, columns.map(([heading]) => h("th", { scope: "col" }, heading)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row)))))),
    ),
  );
}
