/**
 * Numbers, sizes and durations as a reader wants to see them. Pure functions.
 */

const DASH = "—";

/** A metric in 0..1 with three decimals, or a dash. */
export function formatMetric(value) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(3) : DASH;
}

/** An integer with thousands separators, or a dash. */
export function formatInteger(value) {
  return typeof value === "number" && Number.isFinite(value)
    ? Math.round(value).toLocaleString("en-US")
    : DASH;
}

/** Milliseconds: "3.5 ms", "83 ms", "1.24 s". */
export function formatMs(value) {
  if (typeof value !== "number" || !Number.isFinite(value)) return DASH;
  if (value < 10) return `${value.toFixed(1)} ms`;
  return value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(2)} s`;
}

/** A duration in seconds: "42 s", "12 min 5 s", "3 h 20 min". */
export function formatDuration(seconds) {
  if (typeof seconds !== "number" || !Number.isFinite(seconds)) return DASH;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** A parameter count: "9.16 M", "35.2 k". */
export function formatCount(value) {
  if (typeof value !== "number" || !Number.isFinite(value)) return DASH;
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k`;
  return String(value);
}

/** An image size, [width, height] in pixels, as "256 × 256", or a dash. */
export function formatSize(size) {
  const valid = Array.isArray(size) && size.length === 2 && size.every((v) => Number.isFinite(v));
  return valid ? size.join(" × ") : DASH;
}

/** A file size: "512 B", "1.5 MB". */
export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** A timestamp in the reader's locale, or a dash. */
export function formatDate(iso) {
  if (!iso) return DASH;
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? DASH
    : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** The overlap metrics every view shows, in reading order: [key in the API, label]. */
export const OVERLAP_METRICS = [
  ["dice", "Dice"],
  ["iou", "IoU"],
  ["precision", "Precision"],
  ["recall", "Recall"],
  ["f1", "F1"],
];
