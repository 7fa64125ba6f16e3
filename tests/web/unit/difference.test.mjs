import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { DIFF, differenceLabels, differenceSummary } from "../../../web/js/render/difference.js";

describe("differenceLabels", () => {
  test("names each of the four cases", () => {
    const a = new Uint8Array([0, 1, 0, 1]);
    const b = new Uint8Array([0, 0, 1, 1]);
    assert.deepEqual([...differenceLabels(a, b)], [DIFF.NONE, DIFF.ONLY_A, DIFF.ONLY_B, DIFF.BOTH]);
  });

  test("treats any non-zero value as inside", () => {
    assert.deepEqual([...differenceLabels(new Uint8Array([255]), new Uint8Array([7]))], [DIFF.BOTH]);
  });

  test("refuses masks of different sizes", () => {
    assert.throws(() => differenceLabels(new Uint8Array(2), new Uint8Array(3)), /differ in size/);
  });
});

describe("differenceSummary", () => {
  test("counts pixels and gives the Dice agreement", () => {
    const labels = differenceLabels(new Uint8Array([1, 1, 1, 0]), new Uint8Array([0, 1, 1, 1]));
    assert.deepEqual(differenceSummary(labels), { onlyA: 1, onlyB: 1, both: 2, agreementDice: 4 / 6 });
  });

  test("two empty masks have no agreement figure", () => {
    assert.equal(differenceSummary(new Uint8Array(4)).agreementDice, 1); // two empty masks agree, as on the server
  });
});
