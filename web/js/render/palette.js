/**
 * The colours that name things everywhere in the app (panels, overlays, legends, charts).
 * Models take their colour by their place in the server's order (GET /api/config), so a new model needs none
 * named here. Orange and sky blue, the first two, stay distinct under the common colour-vision deficiencies.
 */
import { DIFF } from "./difference.js";
import { parseHexColor } from "./overlay.js";

export const COLOURS = Object.freeze({
  groundTruth: "#4ade80",
  agreement: "#f472d0",
});

/** One colour per model, in the server's model order; more models than colours reuse them in turn. */
export const MODEL_COLOURS = Object.freeze(["#ff9f1c", "#38bdf8", "#c4b5fd", "#fde047"]);

/** @param {number} index the model's place in the server's order */
export function modelColour(index) {
  return MODEL_COLOURS[index % MODEL_COLOURS.length];
}

export const RGB = Object.freeze(
  Object.fromEntries(Object.entries(COLOURS).map(([k, v]) => [k, parseHexColor(v)])),
);

/**
 * Label palette of a difference map between two models: only the first, only the second, both.
 * @param {[number, number, number]} first RGB of the first model
 * @param {[number, number, number]} second RGB of the second model
 */
export function differencePalette(first, second) {
  return { [DIFF.ONLY_A]: first, [DIFF.ONLY_B]: second, [DIFF.BOTH]: RGB.agreement };
}
