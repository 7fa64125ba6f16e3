/**
 * The colours that name things everywhere in the app (panels, overlays, legends, charts).
 * Orange and sky blue stay distinct under the common colour-vision deficiencies.
 */
import { DIFF } from "./difference.js";
import { parseHexColor } from "./overlay.js";

export const COLOURS = Object.freeze({
  groundTruth: "#4ade80",
  unetpp: "#ff9f1c",
  attention_unet: "#38bdf8",
  agreement: "#f472d0",
});

export const RGB = Object.freeze(
  Object.fromEntries(Object.entries(COLOURS).map(([k, v]) => [k, parseHexColor(v)])),
);

/** Label palette of a difference map: only U-Net++, only Attention U-Net, both. */
export const DIFFERENCE_PALETTE = Object.freeze({
  [DIFF.ONLY_A]: RGB.unetpp,
  [DIFF.ONLY_B]: RGB.attention_unet,
  [DIFF.BOTH]: RGB.agreement,
});
