/**
 * The small colour square that names a mask's colour next to its label (decorative: the label says it all).
 */
import { h } from "./dom.js";

/**
 * @param {string} colour CSS colour
 * @returns {HTMLElement}
 */
export function swatch(colour) {
  return h("span", { class: "swatch", style: { "--swatch": colour }, attrs: { "aria-hidden": "true" } });
}
