// Signing in: the OAuth2 authorization-code grant with PKCE (S256) against the user pool's
// hosted UI (locally: the stand-in of the local stack). The access token lives in
// sessionStorage: it ends with the tab, and no other site can read it.

const SESSION = "catalogue.session";
const PENDING = "catalogue.pending-sign-in";

function randomString(bytes) {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return base64url(data);
}

function base64url(data) {
  let text = "";
  for (const b of data) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** Go to the hosted UI; it comes back to the page with ?code=&state=. */
export async function signIn(config) {
  const verifier = randomString(48);
  const state = randomString(16);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, back: location.hash || "#/search" }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: config.client_id,
    redirect_uri: config.redirect_uri,
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
  });
  if (config.scope) query.set("scope", config.scope);
  location.assign(`${config.authorize_url}?${query}`);
}

/** On the way back from the hosted UI: trade the code for a token. Returns an error message, or null. */
export async function completeSignIn(config) {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  const back = pending && typeof pending.back === "string" && pending.back.startsWith("#/") ? pending.back : "#/search";
  history.replaceState(null, "", `${location.pathname}${back}`);
  if (params.has("error")) return `Sign-in failed: ${params.get("error")}`;
  if (!pending || params.get("state") !== pending.state) return "Sign-in failed: the answer does not match this tab's request.";
  const form = new URLSearchParams({
    grant_type: "authorization_code",
    code: params.get("code"),
    redirect_uri: config.redirect_uri,
    client_id: config.client_id,
    code_verifier: pending.verifier,
  });
  let answer;
  try {
    answer = await fetch(config.token_url, { method: "POST", body: form });
  } catch (err) {
    return `Sign-in failed: the token endpoint cannot be reached (${err.message}).`;
  }
  const body = await answer.json().catch(() => ({}));
  if (!answer.ok || !body.access_token) return `Sign-in failed: ${body.error || answer.status}`;
  const expiresAt = Date.now() + 1000 * (Number(body.expires_in) || 3600);
  sessionStorage.setItem(SESSION, JSON.stringify({ token: body.access_token, expiresAt }));
  return null;
}

/** The access token, or null when signed out or expired. */
export function token() {
  const session = JSON.parse(sessionStorage.getItem(SESSION) || "null");
  if (!session || typeof session.token !== "string" || Date.now() > session.expiresAt - 10_000) return null;
  return session.token;
}

export function signOut() {
  sessionStorage.removeItem(SESSION);
}
