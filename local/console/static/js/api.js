// The API client: the base URL and tokens the page was served with, JSON in and out, and the
// error shapes the API has ({"error": {"code", "message"}} from functions, {"message"} from the gateway).

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";

export const apiBase = meta("api-base").replace(/\/$/, "");
export const localToken = meta("local-token");

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let bearer = sessionStorage.getItem("console-token") || "";
let onUnauthorized = () => {};

// `name`: who signed in, as the page knows it (a dev user's email); an access token carries only
// the user's subject.
export function useToken(token, name = "") {
  bearer = token;
  sessionStorage.setItem("console-token", token);
  sessionStorage.setItem("console-user", name);
}

export function signOut() {
  bearer = "";
  sessionStorage.removeItem("console-token");
  sessionStorage.removeItem("console-user");
}

// Who the token names, for the page to show: the name it was given, else the token's email,
// username or subject. The API verifies the token; the page only reads it.
export function signedInAs() {
  if (!bearer) return "";
  const name = sessionStorage.getItem("console-user");
  if (name) return name;
  try {
    const payload = bearer.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(payload));
    return claims.username || claims.email || claims.sub || "";
  } catch {
    return "";
  }
}

export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

function headers(extra = {}) {
  return bearer ? { Authorization: `Bearer ${bearer}`, ...extra } : extra;
}

async function failure(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    // a body that is not JSON: the status says enough
  }
  const code = body.error?.code ?? "http_" + response.status;
  const message = body.error?.message ?? body.message ?? response.statusText;
  if (response.status === 401) onUnauthorized();
  return new ApiError(response.status, code, message);
}

export async function getJson(path) {
  const response = await fetch(apiBase + path, { headers: headers() });
  if (!response.ok) throw await failure(response);
  return response.json();
}

// A JSON body in, the JSON answer out; an answer without a body (204) gives null.
export async function sendJson(method, path, body) {
  const response = await fetch(apiBase + path, {
    method,
    headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

export const postJson = (path, body) => sendJson("POST", path, body);
export const patchJson = (path, body) => sendJson("PATCH", path, body);

// 204 when deleted; another owner's image answers 404 as a missing one does.
export async function deleteImage(imageId) {
  const response = await fetch(`${apiBase}/images/${imageId}`, { method: "DELETE", headers: headers() });
  if (!response.ok) throw await failure(response);
}

// The image itself: GET /images/{id}/content redirects to a short-lived presigned S3 GET. Without
// a token the browser follows it from an <img>; with one, the request needs the header, so the
// bytes are fetched and shown from memory.
export async function imageSource(imageId) {
  const path = `${apiBase}/images/${imageId}/content`;
  if (!bearer) return path;
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) throw await failure(response);
  return URL.createObjectURL(await response.blob());
}

// Local stack only: routes that exist on no deployed API and need the stack's per-run token.
// With AUTH=cognito, POST /_local/sign-in?user=alice|bob gives a dev user's token.
export async function local(path, method = "GET") {
  const response = await fetch(apiBase + path, { method, headers: { "X-Local-Token": localToken } });
  if (!response.ok) throw await failure(response);
  return response.json();
}
