/**
 * Pure rules of the volume view (unit-tested in tests/web/unit/volume.test.mjs): which slice a key or a wheel
 * step leads to, the slice URLs of a scan, and how a lesion and a model's progress read.
 */
import { formatMetric } from "../format.js";

/** Keys that move through the slices, and how. */
const STEPS = { PageUp: 1, PageDown: -1, ArrowUp: 1, ArrowDown: -1 };

/**
 * The slice a key leads to, or null when the key does not scrub. Page Up goes up (superior), Home to the
 * first (most inferior) slice, End to the last.
 * @param {number} k the current slice
 * @param {string} key KeyboardEvent.key
 * @param {number} total number of slices
 * @returns {number|null}
 */
export function sliceForKey(k, key, total) {
  if (key === "Home") return 0;
  if (key === "End") return total - 1;
  if (key in STEPS) return clampSlice(k + STEPS[key], total);
  return null;
}

/** A slice number kept within the volume. */
export function clampSlice(k, total) {
  return Math.min(Math.max(0, Math.round(k)), Math.max(0, total - 1));
}

/** The slice one wheel notch leads to (wheel up = superior). */
export function sliceForWheel(k, deltaY, total) {
  if (!deltaY) return k;
  return clampSlice(k + (deltaY < 0 ? 1 : -1), total);
}

/** The URL of slice `k` from a `{k}` link template. */
export function sliceUrl(template, k) {
  return template.replace("{k}", String(k));
}

/** "32 / 155 slices" for a running model, "" once there is nothing to tell. */
export function progressText(result) {
  const progress = result?.progress;
  if (!progress || result.status !== "running") return "";
  return `${progress.done} / ${progress.total} slices`;
}

/** One line per lesion: "12.4 mm · 0.82 mL · slices 40–52" (measurable from 10 mm, as RANO-BM counts). */
export function lesionText(lesion) {
  const [first, last] = lesion.slices;
  const range = first === last ? `slice ${first}` : `slices ${first}–${last}`;
  return `${lesion.max_diameter_mm.toFixed(1)} mm · ${lesion.volume_ml.toFixed(2)} mL · ${range}`;
}

/** Whether a lesion is measurable under RANO-BM (longest diameter of 10 mm or more). */
export function isMeasurable(lesion) {
  return lesion.max_diameter_mm >= 10;
}

/** The 3D metrics rows of the volume table: label, key, formatter. */
export const VOLUME_METRICS = Object.freeze([
  ["Dice", "dice", formatMetric],
  ["IoU", "iou", formatMetric],
  ["Precision", "precision", formatMetric],
  ["Recall", "recall", formatMetric],
  ["HD95 (mm)", "hd95_mm", (v) => (typeof v === "number" ? v.toFixed(1) : "—")],
]);
