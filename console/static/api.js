// The User API client: JSON over fetch with the operator's bearer token.
//
// The token lives in sessionStorage (gone when the tab closes) and travels only as an Authorization
// header: no cookie ever carries authority, so no other site can make the browser act for the operator.

// Which method each write goes with comes from routes.js, which `make proto` writes from service.proto (the
// CLI reads the same table from configserverctl/routes.py); every read goes as POST.
import { WRITE_METHODS } from "./routes.js";

const TOKEN_KEY = "configserver.token";

/** A refusal: the protocol code (ConfigVersionConflict, PermissionDenied...), its message, the HTTP status. */
export class ApiError extends Error {
  constructor(code, message, status) {
    super(message || code);
    this.code = code;
    this.status = status;
  }
}

let onUnauthenticated = () => {};

/** Who to tell when the server refuses the token (the app returns to the sign-in page). */
export function whenUnauthenticated(callback) {
  onUnauthenticated = callback;
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function hasSession() {
  return sessionStorage.getItem(TOKEN_KEY) !== null;
}

export function saveToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Call a User API RPC with a proto3 JSON body; the decoded answer, or an ApiError. */
export async function call(rpc, body = {}) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  const bearer = token();
  // An empty token means the server has none: sending "Bearer " would be refused where tokens exist.
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const response = await fetch(`../User/${rpc}`, {
    method: Object.hasOwn(WRITE_METHODS, rpc) ? WRITE_METHODS[rpc] : "POST",
    headers,
    body: JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  });
  const answer = await decode(response);
  if (answer.code === "Accept") return answer;
  const error = new ApiError(answer.code || `HTTP ${response.status}`, answer.message, response.status);
  if (response.status === 401) onUnauthenticated(error);
  throw error;
}

async function decode(response) {
  try {
    return await response.json();
  } catch {
    // Something in front of the server (a proxy) answered with a page, not the API's JSON.
    return { code: `HTTP ${response.status}`, message: response.statusText };
  }
}

/** Every item of a paged read, following next_page_token (for short lists: groups, configs). */
export async function all(rpc, body, field, pageSize = 1000) {
  const items = [];
  let pageToken = "";
  do {
    const answer = await call(rpc, { ...body, pageSize, pageToken });
    items.push(...(answer[field] || []));
    pageToken = answer.nextPageToken || "";
  } while (pageToken);
  return items;
}

/** int64 fields arrive as strings (proto3 JSON); counts and times fit a double. */
export function num(value) {
  return Number(value || 0);
}
