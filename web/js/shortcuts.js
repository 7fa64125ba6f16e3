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
  ["H", "Attention heat map"],
  ["A", "Auto window"],
  ["W", "Full window range"],
  ["+ and −", "Zoom in / out"],
  ["Arrows", "Pan"],
  ["F or double-click", "Fit the image"],
  ["Drag / right-drag", "Pan / window (also Shift+drag)"],
  ["?", "This list"],
]);

/** The action of a key press, or null. */
export function actionForKey(key) {
  const table = {
    0: "overlay:none",
    1: "overlay:unetpp",
    2: "overlay:attention_unet",
    3: "overlay:both",
    4: "overlay:difference",
    d: "overlay:difference",
    o: "style",
    "[": "opacity:-",
    "]": "opacity:+",
    h: "heatmap",
    a: "autoWindow",
    w: "fullWindow",
    "+": "zoom:in",
    "=": "zoom:in",
    "-": "zoom:out",
    f: "fit",
    ArrowLeft: "pan:left",
    ArrowRight: "pan:right",
    ArrowUp: "pan:up",
    ArrowDown: "pan:down",
    "?": "help",
  };
  return table[key.length === 1 ? key.toLowerCase() : key] ?? null;
}

/** True when a key press belongs to a form control rather than to the shortcuts. */
export function isTypingTarget(target, key) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") return true;
  if (target.tagName !== "INPUT") return false;
  const type = target.getAttribute("type") ?? "text";
  // Sliders and radio groups use the arrow keys themselves; everything else they ignore.
  if (["range", "radio", "checkbox"].includes(type)) return key.startsWith("Arrow") || key === "Home" || key === "End";
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
          h("tr", {}, h("th", { attrs: { scope: "row" } }, h("kbd", { text: keys })), h("td", { text: what })),
        ),
      ),
    ),
    h("form", { attrs: { method: "dialog" } }, h("button", { class: "primary", text: "Close" })),
  );
  return dialog;
}
