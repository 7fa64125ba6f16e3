/**
 * The case view's state as pure functions: reading settings and how they change, what each panel says about
 * its model's result, what to announce, which images to fetch next, and when everything is drawn. The
 * controller (case-controller.js) keeps the state and calls these; the view (case.js) only shows the results.
 */
import { formatDate, formatMetric } from "../format.js";
import { FULL_WINDOW } from "../render/windowing.js";

const WAITING = { queued: "Waiting for a worker…", running: "Segmenting…" };
const FINAL = ["done", "failed"];

/** @returns {import("../render/compose.js").ViewSettings} the settings a case opens with */
export function initialSettings() {
  return { overlay: "none", opacity: 0.5, style: "fill", ...FULL_WINDOW, heatmap: false, probability: false };
}

/**
 * Settings after a change. Two heat maps at once would be unreadable: the newer choice wins.
 * @returns {import("../render/compose.js").ViewSettings}
 */
export function nextSettings(settings, partial) {
  const next = { ...settings, ...partial };
  if (partial.probability) next.heatmap = false;
  else if (partial.heatmap) next.probability = false;
  return next;
}

export function clampLevel(value) {
  return Math.min(255, Math.max(0, Math.round(value)));
}

export function clampWidth(value) {
  return Math.min(256, Math.max(1, Math.round(value)));
}

/** Opacity moved by delta, rounded to the slider's 5 % steps so repeated presses do not drift. */
export function stepOpacity(opacity, delta) {
  return Math.min(1, Math.max(0, Math.round((opacity + delta) * 20) / 20));
}

/** "256 × 256 px · with ground truth · uploaded …" */
export function caseMeta(scan) {
  return [
    scan.width && scan.height ? `${scan.width} × ${scan.height} px` : null,
    scan.has_ground_truth ? "with ground truth" : "no ground truth",
    `uploaded ${formatDate(scan.created_at)}`,
  ]
    .filter(Boolean)
    .join(" · ");
}

/**
 * What a model's panel says about its result.
 * @param {{status: string, error?: string|null}|undefined} result undefined when the model was not requested
 * @returns {{status: string, statusClass: string, message: string, busy: boolean}}
 */
export function panelStatus(result) {
  if (!result) {
    return {
      status: "not requested",
      statusClass: "muted",
      message: "Not requested for this scan",
      busy: false,
    };
  }
  const { status } = result;
  if (status === "failed") {
    return {
      status,
      statusClass: `is-${status}`,
      message: `Failed: ${result.error ?? "unknown error"}`,
      busy: false,
    };
  }
  return {
    status,
    statusClass: `is-${status}`,
    message: WAITING[status] ?? "",
    busy: Boolean(WAITING[status]),
  };
}

/**
 * What to announce when a model's result changes: its end, with its Dice when there is one.
 * @param {{label: string}} model
 * @param {object|undefined} before the result as last seen
 * @param {object|undefined} after the result now
 * @returns {string|null}
 */
export function announcement(model, before, after) {
  const was = before?.status;
  if (!was || !after || was === after.status || !FINAL.includes(after.status)) return null;
  const dice = after.metrics?.dice;
  return `${model.label} ${after.status}${typeof dice === "number" ? `, Dice ${formatMetric(dice)}` : ""}.`;
}

/**
 * The images to fetch now, in order: the slice first (nothing else until it is in), then the ground truth, each
 * finished model's mask and probability map, and the attention map.
 * @param {object} scan the scan JSON
 * @param {import("../render/compose.js").CaseImages|null} images what is loaded
 * @param {ReturnType<typeof import("../api.js").scanUrls>} urls
 * @param {import("../lineup.js").ModelView[]} models
 * @returns {Array<{key: string, url: string, kind: string, model?: import("../lineup.js").ModelView}>}
 */
export function assetsToFetch(scan, images, urls, models) {
  if (!images) return [{ key: "image", url: urls.image, kind: "image" }];
  const assets = [];
  if (scan.has_ground_truth) assets.push({ key: "groundTruth", url: urls.groundTruth, kind: "groundTruth" });
  const done = models.filter((m) => scan.results?.[m.name]?.status === "done");
  for (const model of done) {
    assets.push({ key: `mask:${model.name}`, url: urls.masks[model.name], kind: "mask", model });
  }
  for (const model of done) {
    const url = urls.probability[model.name];
    if (url) assets.push({ key: `probability:${model.name}`, url, kind: "probability", model });
  }
  // Only a finished result links an attention map.
  if (urls.attention) assets.push({ key: "attention", url: urls.attention, kind: "attention" });
  return assets;
}

/** What a loaded picture is called in a message about its size. */
export function assetName(asset) {
  const names = {
    groundTruth: "ground truth",
    mask: `${asset.model?.label} mask`,
    probability: `${asset.model?.label} probability map`,
    attention: "attention map",
  };
  return names[asset.kind] ?? "image";
}

/**
 * Whether every finished result is drawn and no model is still working (the view's data-ready).
 * @param {object|null} scan
 * @param {Record<string, boolean>} drawn what the last render put on screen: image, groundTruth, model names
 * @param {import("../lineup.js").ModelView[]} models
 */
export function isReady(scan, drawn, models) {
  if (!scan) return false;
  const pending = models.some(({ name }) => {
    const r = scan.results?.[name];
    return r && (r.status === "queued" || r.status === "running" || (r.status === "done" && !drawn[name]));
  });
  return Boolean(drawn.image) && !pending && (!scan.has_ground_truth || Boolean(drawn.groundTruth));
}
