// What the models were trained on, as the Models view compares it and the upload view tells the reader.
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { formatSize } from "../../../web/js/format.js";
import {
  describeSequence,
  formatInputSlices,
  formatInstitutions,
  formatLesionSensitivity,
  formatPatchSize,
  formatPatientsSlices,
  lesionSizeClass,
} from "../../../web/js/views/models.js";
import { TRAINING_FALLBACK, describeTrainingData } from "../../../web/js/views/upload.js";

const TRAINED_ON = {
  sequence: "FLAIR",
  plane: "axial",
  in_plane_size: [256, 256],
  dataset: "LGG Segmentation Dataset",
  institutions: ["CS", "DU", "HT"],
  patients: 68,
  slices: 2548,
};

describe("training data in the Models view", () => {
  test("sequence and plane", () => {
    assert.equal(describeSequence(TRAINED_ON), "FLAIR, axial");
    assert.equal(describeSequence({ sequence: "T2", plane: null }), "T2");
    assert.equal(describeSequence({}), "—");
    assert.equal(describeSequence(undefined), "—");
  });
  test("sizes", () => {
    assert.equal(formatSize([256, 256]), "256 × 256");
    assert.equal(formatSize(null), "—");
    assert.equal(formatSize([256]), "—");
    assert.equal(formatSize(["256", "256"]), "—");
  });
  test("training patches, whole slices, or nothing known", () => {
    assert.equal(formatPatchSize({ input_size: 256, patch_size: 128 }), "128 × 128");
    assert.equal(formatPatchSize({ input_size: 256, patch_size: null }), "whole slices");
    // Training never cuts patches larger than the slices.
    assert.equal(formatPatchSize({ input_size: 128, patch_size: 256 }), "whole slices");
    assert.equal(formatPatchSize({ input_size: 256 }), "—");
    assert.equal(formatPatchSize({ patch_size: "big" }), "—");
    assert.equal(formatPatchSize(undefined), "—");
  });
  test("institutions", () => {
    assert.equal(formatInstitutions(TRAINED_ON.institutions), "CS, DU, HT");
    assert.equal(formatInstitutions([]), "—");
    assert.equal(formatInstitutions(null), "—");
  });
  test("patients and slices, each one possibly missing", () => {
    assert.equal(formatPatientsSlices(TRAINED_ON), "68 / 2,548");
    assert.equal(formatPatientsSlices({ patients: 3, slices: 60 }), "3 / 60");
    assert.equal(formatPatientsSlices({ patients: null, slices: 60 }), "— / 60");
    assert.equal(formatPatientsSlices({ patients: 3 }), "3 / —");
    assert.equal(formatPatientsSlices({}), "—");
    assert.equal(formatPatientsSlices(undefined), "—");
  });
});

describe("small-lesion sensitivity", () => {
  const metrics = {
    lesion_sensitivity_by_size: {
      small: { true: 12, detected: 7, sensitivity: 7 / 12 },
      medium: { true: 0, detected: 0, sensitivity: null },
      large: { true: 30, detected: 30, sensitivity: 1 },
    },
  };
  test("the share detected, with the lesions behind it", () => {
    const small = lesionSizeClass(metrics, "small");
    assert.deepEqual(small, { true: 12, detected: 7, sensitivity: 7 / 12 });
    assert.equal(formatLesionSensitivity(small), "0.583 (7/12)");
    assert.equal(formatLesionSensitivity(lesionSizeClass(metrics, "large")), "1.000 (30/30)");
  });
  test("no lesion of that size, or no breakdown in the card", () => {
    assert.equal(formatLesionSensitivity(lesionSizeClass(metrics, "medium")), "— (0/0)");
    assert.equal(lesionSizeClass({}, "small"), null);
    assert.equal(lesionSizeClass(undefined, "small"), null);
    assert.equal(formatLesionSensitivity(null), "—");
    assert.equal(formatLesionSensitivity({ true: null, detected: null, sensitivity: 0.5 }), "0.500");
  });
});

describe("what the upload view says the models expect", () => {
  const card = (name, display_name, trained_on) => ({ name, display_name, trained_on });
  test("one sentence when the cards agree", () => {
    const cards = [
      card("unetpp", "U-Net++", TRAINED_ON),
      card("attention_unet", "Attention U-Net", TRAINED_ON),
    ];
    assert.equal(
      describeTrainingData(cards),
      "The models were trained on axial FLAIR slices of 256 × 256 pixels; " +
        "other sequences (T1, T2, post-contrast) give less reliable masks.",
    );
  });
  test("each model when they do not", () => {
    const t2 = { ...TRAINED_ON, sequence: "T2", in_plane_size: [240, 240] };
    const cards = [card("unetpp", "U-Net++", TRAINED_ON), card("attention_unet", "Attention U-Net", t2)];
    assert.equal(
      describeTrainingData(cards),
      "U-Net++ was trained on axial FLAIR slices of 256 × 256 pixels, " +
        "Attention U-Net on axial T2 slices of 240 × 240 pixels; " +
        "other sequences (T1, post-contrast) give less reliable masks.",
    );
  });
  test("a single card, a card without a size, cards without training data", () => {
    const sizeless = { sequence: "FLAIR", plane: "axial", in_plane_size: null };
    assert.equal(
      describeTrainingData([card("unetpp", "U-Net++", sizeless)]),
      "U-Net++ was trained on axial FLAIR slices; " +
        "other sequences (T1, T2, post-contrast) give less reliable masks.",
    );
    assert.equal(describeTrainingData([{ name: "unetpp" }]), null);
    assert.equal(describeTrainingData([]), null);
    assert.equal(describeTrainingData(undefined), null);
    assert.match(TRAINING_FALLBACK, /FLAIR/);
  });
});

describe("formatInputSlices", () => {
  test("names a 2D model and a 2.5D model's neighbours on each side", () => {
    assert.equal(formatInputSlices(0), "single slice (2D)");
    assert.equal(formatInputSlices(1), "slice ± 1 (2.5D)");
    assert.equal(formatInputSlices(2), "slice ± 2 (2.5D)");
  });
  test("shows a dash when the card does not say", () => {
    assert.equal(formatInputSlices(undefined), "—");
    assert.equal(formatInputSlices(null), "—");
  });
});
