/**
 * Keyboard shortcuts of the case view: one table drives both the key handler and the help dialog.
 */
import { h } from "./dom.js";

/** [keys as shown to the reader, what they do]. */
export const CASE_SHORTCUTS = Object.freeze([
  ["0", "Overlay off"],
  ["1", "Overlay U-Net++"],
  ["2", "Overlay Attention U-Net"],
  ["3", "Overlay both models"],
  ["4 or D", "Difference between the models"],
  ["O", "Filled / outline masks"],
  ["[ and ]", "Opacity down / up"],
  ["P", "Probability maps on the model panels"],
  ["H", "Attention map on the Attention U-Net panel"],
  ["A", "Auto window"],
  ["W", "Full window range"],
  ["+ and −", "Zoom in / out"],
  ["Arrows", "Pan"],
  ["F or double-click", "Fit the image"],
  ["Drag / right-drag", "Pan / window (also Shift+drag)"],
  ["?", "This list"],
]);

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
  0: (a) => a.setOverlay("none"),
  1: (a) => a.setOverlay("unetpp"),
  2: (a) => a.setOverlay("attention_unet"),
  3: (a) => a.setOverlay("both"),
  4: (a) => a.setOverlay("difference"),
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
 * @returns {boolean} whether the key is a shortcut
 */
export function runShortcut(key, actions) {
  const run = KEYS[key.length === 1 ? key.toLowerCase() : key];
  if (!run) return false;
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

/** A modal dialog listing the shortcuts. */
export function shortcutsDialog() {
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
        CASE_SHORTCUTS.map(([keys, what]) =>
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
