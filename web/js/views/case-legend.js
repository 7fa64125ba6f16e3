/**
 * What the case view says about the pixels: the colour legend (with the difference counts) and the readout
 * under the cursor. The text is computed by pure functions; only `renderLegend` touches the DOM.
 */
import { MODELS, MODEL_LABELS } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { formatInteger } from "../format.js";
import { differenceLabels, differenceSummary } from "../render/difference.js";
import { COLOURS } from "../render/palette.js";
import { swatch } from "../swatch.js";

/**
 * Legend entries for an overlay choice: [colour, text] pairs, colour null for a plain note.
 * @param {string} overlay
 * @param {{unetpp: Uint8Array|null, attention_unet: Uint8Array|null}} masks
 * @returns {Array<[string|null, string]>}
 */
export function legendEntries(overlay, masks) {
  const { unetpp, attention_unet: attention } = masks;
  if (overlay === "difference" && unetpp && attention) {
    const s = differenceSummary(differenceLabels(unetpp, attention));
    return [
      [COLOURS.unetpp, `Only U-Net++ · ${formatInteger(s.onlyA)} px`],
      [COLOURS.attention_unet, `Only Attention U-Net · ${formatInteger(s.onlyB)} px`],
      [COLOURS.agreement, `Both · ${formatInteger(s.both)} px`],
    ];
  }
  const entries = [
    [COLOURS.groundTruth, "Ground truth"],
    [COLOURS.unetpp, MODEL_LABELS.unetpp],
    [COLOURS.attention_unet, MODEL_LABELS.attention_unet],
  ];
  if (overlay === "difference") entries.push([null, "Difference: waiting for both masks"]);
  return entries;
}

/** Replace a list's items with legend entries. */
export function renderLegend(list, entries) {
  replaceChildren(
    list,
    entries.map(([colour, text]) =>
      colour ? h("li", {}, swatch(colour), text) : h("li", { class: "muted", text }),
    ),
  );
}

/**
 * The readout of one image pixel: position, value, and what each mask (and probability) says there.
 * @param {import("../render/compose.js").CaseImages} images
 * @param {{x: number, y: number}} pixel inside the image
 * @returns {string}
 */
export function readoutText(images, pixel) {
  const i = pixel.y * images.width + pixel.x;
  const parts = [`x ${pixel.x}  y ${pixel.y}`, `value ${images.grey[i]}`];
  if (images.groundTruth) parts.push(`ground truth ${images.groundTruth[i] ? "lesion" : "–"}`);
  for (const model of MODELS) {
    const mask = images.masks[model];
    const probability = images.probability?.[model];
    const p = probability ? ` (p ${(probability[i] / 255).toFixed(2)})` : "";
    if (mask) parts.push(`${MODEL_LABELS[model]} ${mask[i] ? "lesion" : "–"}${p}`);
  }
  return parts.join("   ·   ");
}
