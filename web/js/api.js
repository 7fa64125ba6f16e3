/**
 * The BrainMets HTTP API (see README "HTTP API"): the server's facts, JSON reads, the upload with progress, and
 * live scan events. Every URL but /api/config comes from the server's URL templates.
 */

/** Where the server states its facts; the one URL the app knows by itself. */
export const CONFIG_URL = "/api/config";

/** A result no longer changes once it is in one of these states. */
export const FINAL_STATES = Object.freeze(["done", "failed"]);

/** An HTTP error whose message is fit to show to the user. */
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/**
 * The user-facing message of an error response: FastAPI's `detail` (a string, or a list of validation errors).
 * @param {unknown} body parsed JSON body, or null
 * @param {number} status
 * @returns {string}
 */
export function errorMessage(body, status) {
  const detail = body && typeof body === "object" ? body.detail : null;
  if (typeof detail === "string" && detail) return detail.charAt(0).toUpperCase() + detail.slice(1);
  if (Array.isArray(detail) && detail.length) {
    return detail
      .map((item) => {
        const where = Array.isArray(item.loc) ? item.loc.filter((p) => p !== "body").join(".") : "";
        return where ? `${where}: ${item.msg}` : String(item.msg ?? item);
      })
      .join("; ");
  }
  if (status === 413) return "The file is too large for the server.";
  if (status >= 500) return `The server failed (HTTP ${status}). Try again in a moment.`;
  return `The request failed (HTTP ${status}).`;
}

let unauthorizedHandler = () => {};

/**
 * What to do when the server says the caller is not signed in (HTTP 401), e.g. show the sign-in page.
 * @param {() => void} handler
 */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

function failure(body, status, { quiet = false } = {}) {
  if (status === 401 && !quiet) unauthorizedHandler();
  return new ApiError(errorMessage(body, status), status);
}

/**
 * A JSON request (cookies go along: the session cookie authorises images and event streams too).
 * @returns {Promise<any>} the parsed body, or null for an empty one
 */
async function request(path, { method = "GET", json, signal, quiet = false } = {}) {
  const headers = { Accept: "application/json" };
  if (json !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
      signal,
    });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError("Cannot reach the BrainMets server. Check that it is running.", 0);
  }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw failure(body, response.status, { quiet });
  return body;
}

function getJson(path, signal) {
  return request(path, { signal });
}

/**
 * @typedef {object} ServerConfig what GET /api/config answers (services/results_api/schemas.py AppConfig)
 * @property {Array<{name: string, display_name: string, attention_map: boolean}>} models in display order
 * @property {{max_bytes: number, media_types: Record<string, string[]>, default_models: string[]}} upload
 * @property {Record<string, string>} urls templates with {id} (a scan) and {model} (a model's name)
 */

/** @type {ServerConfig|null} */
let config = null;

/** Fetch the server's facts; the app loads them once, before any view. @returns {Promise<ServerConfig>} */
export async function loadConfig(signal) {
  config = await getJson(CONFIG_URL, signal);
  return config;
}

/** Use facts already fetched (e.g. the server's own answer in unit tests). @param {ServerConfig} value */
export function setConfig(value) {
  config = value;
}

/**
 * A URL from the server's templates.
 * @param {string} key e.g. "self", "mask"
 * @param {{id?: string, model?: string}} [params]
 */
export function apiUrl(key, params = {}) {
  const template = config?.urls?.[key];
  if (!template) throw new Error(`the server's config has no "${key}" URL (was it loaded?)`);
  return template.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(params[name] ?? ""));
}

/**
 * Who is signed in.
 * @returns {Promise<{auth_required: boolean, name?: string|null, role?: string|null}>} a server without
 *   accounts answers as one where sign-in is not required
 */
export async function getSession(signal) {
  try {
    return await request(apiUrl("me"), { signal, quiet: true });
  } catch (error) {
    if (error.status === 401) return { auth_required: true, name: null, role: null };
    if (error.status === 404) return { auth_required: false, name: null, role: null };
    throw error;
  }
}

/** Exchange an access token for a session cookie. @returns {Promise<{name: string, role: string}>} */
export function signIn(token) {
  return request(apiUrl("session"), { method: "POST", json: { token }, quiet: true });
}

export function signOut() {
  return request(apiUrl("session"), { method: "DELETE", quiet: true });
}

/** @returns {Promise<{items: object[], total: number, limit: number, offset: number}>} newest first */
export function listScans({ limit = 20, offset = 0 } = {}, signal) {
  return getJson(`${apiUrl("scans")}?limit=${limit}&offset=${offset}`, signal);
}

/** @returns {Promise<object>} the scan with each model's result */
export function getScan(id, signal) {
  return getJson(apiUrl("self", { id }), signal);
}

/** @returns {Promise<{models: object[]}>} the model cards */
export function getModels(signal) {
  return getJson(apiUrl("models"), signal);
}

/**
 * URLs of a scan's images; the scan's own links win when the API gives them.
 * @param {object} scan the scan JSON
 * @param {Array<{name: string}>} models the models in the server's order
 */
export function scanUrls(scan, models) {
  const id = scan.id;
  const links = scan.links ?? {};
  const urls = {
    image: links.image ?? apiUrl("image", { id }),
    groundTruth: links.ground_truth ?? apiUrl("ground_truth", { id }),
    attention: null,
    masks: {},
    probability: {},
  };
  for (const { name } of models) {
    const result = scan.results?.[name];
    urls.masks[name] = result?.links?.mask ?? apiUrl("mask", { id, model: name });
    urls.probability[name] = result?.links?.probability ?? null;
    // Only a model whose network has attention gates gives this link.
    urls.attention ??= result?.links?.attention ?? null;
  }
  return urls;
}

/**
 * Upload a scan. Uses XMLHttpRequest because fetch cannot report upload progress.
 * @param {{image: File, groundTruth?: File|null, models?: string[]}} form
 * @param {(fraction: number) => void} [onProgress]
 * @returns {Promise<{id: string, status: string, links: object}>}
 */
export function uploadScan({ image, groundTruth = null, models = [] }, onProgress = () => {}) {
  const data = new FormData();
  data.append("image", image, image.name);
  if (groundTruth) data.append("ground_truth", groundTruth, groundTruth.name);
  if (models.length) data.append("models", models.join(","));
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", apiUrl("scans"));
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // A proxy's HTML error page: fall back to the status text.
      }
      if (xhr.status >= 200 && xhr.status < 300 && body) resolve(body);
      else reject(failure(body, xhr.status));
    });
    xhr.addEventListener("error", () =>
      reject(new ApiError("The upload did not reach the server. Check the connection and try again.", 0)),
    );
    xhr.send(data);
  });
}

/** True when every requested model has finished (done or failed). */
export function isSettled(scan) {
  const results = Object.values(scan.results ?? {});
  return results.length > 0 && results.every((r) => FINAL_STATES.includes(r.status));
}

/**
 * Follow a scan live: Server-Sent Events, with polling as a fallback when the stream breaks.
 * @param {string} id
 * @param {(scan: object) => void} onScan called with the scan JSON on every change
 * @returns {() => void} stop watching
 */
export function watchScan(id, onScan) {
  let stopped = false;
  let pollTimer = null;
  let source = null;

  const deliver = (scan) => {
    if (stopped) return;
    onScan(scan);
    if (isSettled(scan)) stop();
  };

  const poll = async () => {
    if (stopped) return;
    try {
      deliver(await getScan(id));
    } catch {
      // Keep polling: the server may be restarting.
    }
    if (!stopped) pollTimer = setTimeout(poll, 2000);
  };

  function stop() {
    stopped = true;
    clearTimeout(pollTimer);
    source?.close();
  }

  if (typeof EventSource === "function") {
    source = new EventSource(apiUrl("events", { id }));
    const onMessage = (event) => {
      try {
        deliver(JSON.parse(event.data));
      } catch {
        // Not a scan document (e.g. a keep-alive): ignore it.
      }
    };
    source.addEventListener("message", onMessage);
    source.addEventListener("scan", onMessage);
    source.addEventListener("error", () => {
      // EventSource retries by itself unless the server refused the stream outright.
      if (source.readyState === EventSource.CLOSED && !stopped && pollTimer === null) poll();
    });
  } else {
    poll();
  }
  return stop;
}
