import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  blendLabels,
  compositeLayers,
  countPixels,
  maskFromRgba,
  outline,
  parseHexColor,
} from "../../../web/js/render/overlay.js";

const RED = [255, 0, 0];

/** An opaque grey RGBA image of n pixels. */
function greyImage(n, value) {
  const rgba = new Uint8ClampedArray(n * 4);
  for (let p = 0; p < rgba.length; p += 4) rgba.set([value, value, value, 255], p);
  return rgba;
}

/** The RGB of pixel i. */
function rgbAt(rgba, i) {
  return [rgba[i * 4], rgba[i * 4 + 1], rgba[i * 4 + 2]];
}

describe("parseHexColor", () => {
  test("reads #rrggbb", () => {
    assert.deepEqual(parseHexColor("#ff8000"), [255, 128, 0]);
  });
  test("refuses anything else", () => {
    assert.throws(() => parseHexColor("red"), /expected a colour/);
  });
});

describe("maskFromRgba", () => {
  test("white opaque pixels are inside, black or transparent ones outside", () => {
    const rgba = new Uint8ClampedArray([
      255, 255, 255, 255, 0, 0, 0, 255, 255, 255, 255, 0, 200, 200, 200, 255,
    ]);
    assert.deepEqual([...maskFromRgba(rgba)], [1, 0, 0, 1]);
  });
});

describe("outline", () => {
  test("a filled 3x3 square inside a 5x5 image keeps its ring and drops its centre", () => {
    const mask = new Uint8Array(25);
    for (let y = 1; y <= 3; y += 1) for (let x = 1; x <= 3; x += 1) mask[y * 5 + x] = 1;
    const edge = outline(mask, 5, 5);
    assert.equal(edge[2 * 5 + 2], 0);
    assert.equal(countPixels(edge), 8);
    assert.equal(edge[1 * 5 + 1], 1);
  });

  test("pixels on the image border count as boundary", () => {
    const edge = outline(new Uint8Array(9).fill(1), 3, 3);
    assert.deepEqual([...edge], [1, 1, 1, 1, 0, 1, 1, 1, 1]);
  });

  test("keeps labels where two regions touch", () => {
    const edge = outline(new Uint8Array([1, 3]), 2, 1);
    assert.deepEqual([...edge], [1, 3]);
  });
});

describe("blendLabels", () => {
  test("opacity 0, 0.5 and 1 give the base, the mean and the colour", () => {
    const labels = new Uint8Array([1]);
    assert.deepEqual(rgbAt(blendLabels(greyImage(1, 100), labels, { 1: RED }, 0), 0), [100, 100, 100]);
    assert.deepEqual(rgbAt(blendLabels(greyImage(1, 100), labels, { 1: RED }, 0.5), 0), [178, 50, 50]);
    assert.deepEqual(rgbAt(blendLabels(greyImage(1, 100), labels, { 1: RED }, 1), 0), RED);
  });

  test("leaves alpha and unlabelled pixels alone", () => {
    const out = blendLabels(greyImage(2, 10), new Uint8Array([0, 1]), { 1: RED }, 1);
    assert.deepEqual([...out], [10, 10, 10, 255, 255, 0, 0, 255]);
  });
});

describe("compositeLayers", () => {
  const size = 5;
  const mask = new Uint8Array(size * size);
  for (let y = 1; y <= 3; y += 1) for (let x = 1; x <= 3; x += 1) mask[y * size + x] = 1;
  const base = greyImage(size * size, 40);

  test("fill colours the whole mask and keeps the base untouched", () => {
    const out = compositeLayers(base, size, size, [{ labels: mask, palette: { 1: RED } }], {
      opacity: 1,
      style: "fill",
    });
    assert.deepEqual(rgbAt(out, 2 * size + 2), RED);
    assert.deepEqual(rgbAt(out, 0), [40, 40, 40]);
    assert.deepEqual(rgbAt(base, 2 * size + 2), [40, 40, 40]);
  });

  test("outline leaves the inside of the mask showing the image", () => {
    const out = compositeLayers(base, size, size, [{ labels: mask, palette: { 1: RED } }], {
      opacity: 1,
      style: "outline",
    });
    assert.deepEqual(rgbAt(out, 2 * size + 2), [40, 40, 40]);
    assert.deepEqual(rgbAt(out, 1 * size + 1), RED);
  });

  test("later layers are drawn over earlier ones", () => {
    const blue = [0, 0, 255];
    const out = compositeLayers(
      base,
      size,
      size,
      [
        { labels: mask, palette: { 1: RED } },
        { labels: mask, palette: { 1: blue } },
      ],
      { opacity: 1, style: "fill" },
    );
    assert.deepEqual(rgbAt(out, 2 * size + 2), blue);
  });

  test("refuses an unknown style", () => {
    assert.throws(() => compositeLayers(base, size, size, [], { opacity: 1, style: "dashed" }), /style/);
  });
});
