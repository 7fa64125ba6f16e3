/**
 * The models as every view shows them, built once from the server's config (GET /api/config): in the
 * server's order, with the server's display names, a colour and a shortcut key each. Nothing here names a model.
 */
import { parseHexColor } from "./render/overlay.js";
import { modelColour } from "./render/palette.js";

/**
 * @typedef {object} ModelView
 * @property {string} name the server's model name (URLs, result keys, data-model attributes)
 * @property {string} label the display name
 * @property {string} colour CSS colour
 * @property {[number, number, number]} rgb the same colour for the canvas
 * @property {boolean} attentionMap whether its results come with an attention map
 * @property {string} key the digit that overlays it in the case view
 */

/**
 * @param {Array<{name: string, display_name: string, attention_map: boolean}>} models the config's models
 * @returns {ModelView[]}
 */
export function lineup(models) {
  return models.map((model, i) => ({
    name: model.name,
    label: model.display_name,
    colour: modelColour(i),
    rgb: parseHexColor(modelColour(i)),
    attentionMap: Boolean(model.attention_map),
    key: String(i + 1),
  }));
}

/** The two models a difference map compares: the first two in the server's order, or null with fewer. */
export function comparedPair(models) {
  return models.length >= 2 ? [models[0], models[1]] : null;
}

/** "U-Net++", "U-Net++ and Attention U-Net", "A, B and C". */
export function joinLabels(models) {
  const labels = models.map((m) => m.label);
  return labels.length < 2 ? (labels[0] ?? "") : `${labels.slice(0, -1).join(", ")} and ${labels.at(-1)}`;
}
