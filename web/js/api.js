// Calls to the catalogue API with the signed-in user's token; errors carry the API's Code/Message.
import { signOut, token } from "./auth.js";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let apiUrl = "";
let onSignedOut = () => {};

export function configure(url, signedOut) {
  apiUrl = url.replace(/\/$/, "");
  onSignedOut = signedOut;
}

/** `path` with `query` (an object; arrays repeat the name); answers {body, headers, status}. */
export async function call(path, { method = "GET", query = null, body = undefined } = {}) {
  const url = new URL(apiUrl + path);
  for (const [name, value] of Object.entries(query || {})) {
    for (const v of [].concat(value)) if (v !== null && v !== undefined && v !== "") url.searchParams.append(name, v);
  }
  const headers = { Accept: "application/json" };
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let answer;
  try {
    answer = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, "Unreachable", `The catalogue cannot be reached (${err.message}).`);
  }
  const text = await answer.text();
  let parsed = null;
  try { parsed = text ? JSON.parse(text) : null; } catch { parsed = text; }
  if (answer.status === 401) {
    signOut();
    onSignedOut();
  }
  if (!answer.ok) {
    const code = (parsed && parsed.Code) || String(answer.status);
    const message = (parsed && parsed.Message) || answer.statusText || "The request failed.";
    throw new ApiError(answer.status, code, message);
  }
  return { body: parsed, headers: answer.headers, status: answer.status };
}
