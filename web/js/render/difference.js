/**
 * Where two models' masks agree and disagree. Pure functions, no DOM.
 */

/** Labels of a difference map. */
export const DIFF = Object.freeze({ NONE: 0, ONLY_A: 1, ONLY_B: 2, BOTH: 3 });

/**
 * @param {Uint8Array} a first mask (non-zero = inside)
 * @param {Uint8Array} b second mask, same length
 * @returns {Uint8Array} DIFF label per pixel
 */
export function differenceLabels(a, b) {
  if (a.length !== b.length) throw new Error(`masks differ in size: ${a.length} and ${b.length} pixels`);
  const labels = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i += 1) {
    labels[i] = (a[i] ? DIFF.ONLY_A : 0) | (b[i] ? DIFF.ONLY_B : 0);
  }
  return labels;
}

/**
 * Pixel counts of each kind and the Dice agreement of the two masks.
 * @param {Uint8Array} labels from differenceLabels
 * @returns {{onlyA: number, onlyB: number, both: number, agreementDice: number}}
 *   agreementDice follows the server's rule (shared/brainmets/metrics.py): two empty masks agree fully, 1.0
 */
export function differenceSummary(labels) {
  let onlyA = 0;
  let onlyB = 0;
  let both = 0;
  for (let i = 0; i < labels.length; i += 1) {
    if (labels[i] === DIFF.ONLY_A) onlyA += 1;
    else if (labels[i] === DIFF.ONLY_B) onlyB += 1;
    else if (labels[i] === DIFF.BOTH) both += 1;
  }
  const denominator = 2 * both + onlyA + onlyB;
  return { onlyA, onlyB, both, agreementDice: denominator === 0 ? 1 : (2 * both) / denominator };
}
