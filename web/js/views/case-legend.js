/**
 * What the case view says about the pixels: the colour legend (with the difference counts) and the readout
 * under the cursor. The text is computed by pure functions; only `renderLegend` touches the DOM.
 */
import { h, replaceChildren } from "../dom.js";
import { formatInteger } from "../format.js";
import { comparedPair } from "../lineup.js";
import { differenceLabels, differenceSummary } from "../render/difference.js";
import { COLOURS } from "../render/palette.js";
import { swatch } from "../swatch.js";

/**
 * Legend entries for an overlay choice: [colour, text] pairs, colour null for a plain note.
 * @param {string} overlay
 * @param {Record<string, Uint8Array|null>} masks by model name
 * @param {import("../lineup.js").ModelView[]} models
 * @returns {Array<[string|null, string]>}
 */
export function legendEntries(overlay, masks, models) {
  const pair = comparedPair(models);
  const [a, b] = pair ? pair.map((m) => masks[m.name]) : [];
  if (overlay === "difference" && a && b) {
    const s = differenceSummary(differenceLabels(a, b));
    return [
      [pair[0].colour, `Only ${pair[0].label} · ${formatInteger(s.onlyA)} px`],
      [pair[1].colour, `Only ${pair[1].label} · ${formatInteger(s.onlyB)} px`],
      [COLOURS.agreement, `Both · ${formatInteger(s.both)} px`],
    ];
  }
  const entries = [[COLOURS.groundTruth, "Ground truth"], ...models.map((m) => [m.colour, m.label])];
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
 * @param {import("../lineup.js").ModelView[]} models
 * @returns {string}
 */
export function readoutText(images, pixel, models) {
  const i = pixel.y * images.width + pixel.x;
  const parts = [`x ${pixel.x}  y ${pixel.y}`, `value ${images.grey[i]}`];
  if (images.groundTruth) parts.push(`ground truth ${images.groundTruth[i] ? "lesion" : "–"}`);
  for (const model of models) {
    const mask = images.masks[model.name];
    const probability = images.probability?.[model.name];
    const p = probability ? ` (p ${(probability[i] / 255).toFixed(2)})` : "";
    if (mask) parts.push(`${model.label} ${mask[i] ? "lesion" : "–"}${p}`);
  }
  return parts.join("   ·   ");
}
