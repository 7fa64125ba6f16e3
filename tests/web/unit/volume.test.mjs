import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  clampSlice,
  isMeasurable,
  lesionText,
  progressText,
  sliceForKey,
  sliceForWheel,
  sliceUrl,
} from "../../../web/js/views/volume-logic.js";
import { checkFile } from "../../../web/js/views/upload.js";
import { CONFIG } from "./fixtures.mjs";

describe("scrubbing", () => {
  test("Page Up goes up a slice, Page Down down, Home and End to the ends, within the volume", () => {
    assert.equal(sliceForKey(5, "PageUp", 10), 6);
    assert.equal(sliceForKey(5, "PageDown", 10), 4);
    assert.equal(sliceForKey(5, "Home", 10), 0);
    assert.equal(sliceForKey(5, "End", 10), 9);
    assert.equal(sliceForKey(9, "PageUp", 10), 9);
    assert.equal(sliceForKey(0, "PageDown", 10), 0);
    assert.equal(sliceForKey(5, "a", 10), null);
  });

  test("a wheel notch moves one slice; up is superior", () => {
    assert.equal(sliceForWheel(5, -100, 10), 6);
    assert.equal(sliceForWheel(5, 3, 10), 4);
    assert.equal(sliceForWheel(5, 0, 10), 5);
    assert.equal(clampSlice(12.4, 10), 9);
  });

  test("slice URLs fill the API's {k} placeholder", () => {
    assert.equal(sliceUrl("/api/scans/x/slices/{k}/image.png", 17), "/api/scans/x/slices/17/image.png");
  });
});

describe("reading", () => {
  test("progress shows only while a model runs", () => {
    assert.equal(progressText({ status: "running", progress: { done: 32, total: 155 } }), "32 / 155 slices");
    assert.equal(progressText({ status: "done", progress: { done: 155, total: 155 } }), "");
    assert.equal(progressText({ status: "queued" }), "");
  });

  test("a lesion reads as diameter, volume and slices; 10 mm is measurable", () => {
    const lesion = { max_diameter_mm: 12.44, volume_ml: 0.8234, slices: [40, 52] };
    assert.equal(lesionText(lesion), "12.4 mm · 0.82 mL · slices 40–52");
    assert.equal(lesionText({ ...lesion, slices: [7, 7] }), "12.4 mm · 0.82 mL · slice 7");
    assert.ok(isMeasurable(lesion));
    assert.ok(!isMeasurable({ ...lesion, max_diameter_mm: 9.9 }));
  });
});

describe("choosing a volume to upload, with the server's upload rules", () => {
  const rules = CONFIG.upload;
  test("NIfTI and zips go up to the volume limit, slices keep theirs", () => {
    const overSlice = rules.max_bytes + 1;
    assert.equal(
      checkFile({ name: "sub-01_flair.nii.gz", type: "application/gzip", size: overSlice }, rules),
      null,
    );
    assert.equal(checkFile({ name: "study.zip", type: "application/zip", size: 10 }, rules), null);
    assert.equal(checkFile({ name: "t1.NII", type: "", size: 10 }, rules), null);
    assert.match(
      checkFile({ name: "v.nii.gz", type: "", size: rules.volume_max_bytes + 1 }, rules),
      /limit is 512/,
    );
    assert.match(checkFile({ name: "a.png", type: "image/png", size: overSlice }, rules), /limit is 20/);
  });
  test("other files are refused with the server's volume formats named", () => {
    assert.match(
      checkFile({ name: "notes.txt", type: "text/plain", size: 10 }, rules),
      /not a PNG, JPEG or TIFF image or a volume \(\.nii, \.nii\.gz, \.zip\)/,
    );
  });
});
