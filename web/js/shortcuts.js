/**
 * Keyboard shortcuts of the case view: one table drives both the key handler and the help dialog. The overlay
 * digits follow the server's model order: 0 off, 1..n the models, then both (or all) and the difference.
 */
import { h } from "./dom.js";
import { comparedPair, joinLabels } from "./lineup.js";

/**
 * The overlay choices for the models: [value, label, key]. "both" and "difference" need two models.
 * @param {import("./lineup.js").ModelView[]} models
 * @returns {Array<[string, string, string]>}
 */
export function overlayChoices(models) {
  const choices = [["none", "Off", "0"], ...models.map((m) => [m.name, m.label, m.key])];
  if (models.length >= 2) {
    choices.push(["both", models.length === 2 ? "Both" : "All", String(models.length + 1)]);
    choices.push(["difference", "Difference", String(models.length + 2)]);
  }
  return choices;
}

/**
 * [keys as shown to the reader, what they do].
 * @param {import("./lineup.js").ModelView[]} models
 * @returns {Array<[string, string]>}
 */
export function caseShortcuts(models) {
  const overlays = overlayChoices(models).map(([value, label, key]) => {
    if (value === "none") return [key, "Overlay off"];
    if (value === "both") return [key, `Overlay ${models.length === 2 ? "both" : "all"} models`];
    if (value === "difference")
      return [`${key} or D`, `Difference between ${joinLabels(comparedPair(models))}`];
    return [key, `Overlay ${label}`];
  });
  const withMaps = models.filter((m) => m.attentionMap);
  return [
    ...overlays,
    ["O", "Filled / outline masks"],
    ["[ and ]", "Opacity down / up"],
    ["P", "Probability maps on the model panels"],
    ...(withMaps.length ? [["H", `Attention map on the ${joinLabels(withMaps)} panel`]] : []),
    ["A", "Auto window"],
    ["W", "Full window range"],
    ["+ and −", "Zoom in / out"],
    ["Arrows", "Pan"],
    ["F or double-click", "Fit the image"],
    ["Drag / right-drag", "Pan / window (also Shift+drag)"],
    ["?", "This list"],
  ];
}

/**
 * @typedef {object} CaseActions what the case view does for its shortcuts
 * @property {(overlay: string) => void} setOverlay
 * @property {() => void} toggleStyle
 * @property {(delta: number) => void} nudgeOpacity
 * @property {() => void} toggleHeatmap
 * @property {() => void} toggleProbability
 * @property {() => void} autoWindow
 * @property {() => void} fullWindow
 * @property {(factor: number) => void} zoom
 * @property {(dx: number, dy: number) => void} pan in fractions of the panel size
 * @property {() => void} fit
 * @property {() => void} help
 */

/** @type {Record<string, (actions: CaseActions) => void>} keyed by KeyboardEvent.key (letters lower-cased) */
const KEYS = {
  d: (a) => a.setOverlay("difference"),
  o: (a) => a.toggleStyle(),
  "[": (a) => a.nudgeOpacity(-0.1),
  "]": (a) => a.nudgeOpacity(0.1),
  h: (a) => a.toggleHeatmap(),
  p: (a) => a.toggleProbability(),
  a: (a) => a.autoWindow(),
  w: (a) => a.fullWindow(),
  "+": (a) => a.zoom(1.25),
  "=": (a) => a.zoom(1.25),
  "-": (a) => a.zoom(0.8),
  f: (a) => a.fit(),
  ArrowLeft: (a) => a.pan(0.1, 0),
  ArrowRight: (a) => a.pan(-0.1, 0),
  ArrowUp: (a) => a.pan(0, 0.1),
  ArrowDown: (a) => a.pan(0, -0.1),
  "?": (a) => a.help(),
};

/**
 * Run the shortcut of a key press.
 * @param {string} key KeyboardEvent.key
 * @param {CaseActions} actions
 * @param {Array<[string, string, string]>} choices the overlay choices (their keys are digits)
 * @returns {boolean} whether the key is a shortcut
 */
export function runShortcut(key, actions, choices) {
  const overlay = choices.find(([, , digit]) => digit === key);
  if (overlay) {
    actions.setOverlay(overlay[0]);
    return true;
  }
  const run = KEYS[key.length === 1 ? key.toLowerCase() : key];
  if (!run || (run === KEYS.d && !choices.some(([value]) => value === "difference"))) return false;
  run(actions);
  return true;
}

/** True when a key press belongs to a form control rather than to the shortcuts. */
export function isTypingTarget(target, key) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
  if (target.tagName !== "INPUT") return false;
  const type = target.getAttribute("type") ?? "text";
  // Sliders and radio groups use the arrow keys themselves; everything else they ignore.
  if (["range", "radio", "checkbox"].includes(type))
    return key.startsWith("Arrow") || key === "Home" || key === "End";
  return true;
}

/**
 * A modal dialog listing the shortcuts.
 * @param {Array<[string, string]>} shortcuts from caseShortcuts
 */
export function shortcutsDialog(shortcuts) {
  const dialog = h(
    "dialog",
    { class: "dialog", attrs: { "aria-labelledby": "shortcuts-title" } },
    h("h2", { text: "Keyboard shortcuts", attrs: { id: "shortcuts-title" } }),
    h(
      "table",
      { class: "table shortcuts" },
      h(
        "tbody",
        {},
        shortcuts.map(([keys, what]) =>
          h(
            "tr",
            {},
            h("th", { attrs: { scope: "row" } }, h("kbd", { text: keys })),
            h("td", { text: what }),
          ),
        ),
      ),
    ),
    h("form", { attrs: { method: "dialog" } }, h("button", { class: "primary", text: "Close" })),
  );
  return dialog;
}
