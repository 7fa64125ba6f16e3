/**
 * Upload view: pick or drop an MRI slice or a volume (NIfTI, zipped DICOM series or slices) and, optionally,
 * its ground-truth mask; check them; send them with progress; open the case when the server has accepted it
 * (a volume's case opens the volume view).
 */
import { getModels, uploadScan } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { formatBytes, formatSize } from "../format.js";

/**
 * @typedef {{max_bytes: number, media_types: Record<string, string[]>, default_models: string[],
 *   volume_max_bytes: number, volume_media_types: Record<string, string[]>}} UploadRules
 *   the server's upload rules (GET /api/config "upload")
 */

/** "PNG, JPEG or TIFF": the server's formats by name. @param {UploadRules} rules */
export function formatNames(rules) {
  const names = Object.keys(rules.media_types).map((type) => type.split("/").pop().toUpperCase());
  return names.length < 2 ? (names[0] ?? "") : `${names.slice(0, -1).join(", ")} or ${names.at(-1)}`;
}

/** The server's volume extensions (NIfTI, zip): ".nii, .nii.gz, .zip". @param {UploadRules} rules */
export function volumeExtensions(rules) {
  return Object.values(rules.volume_media_types).flat();
}

/**
 * The file picker's accept list: the server's extensions and media types, slices' then volumes'.
 * @param {UploadRules} rules
 */
export function acceptList(rules) {
  const types = { ...rules.media_types, ...rules.volume_media_types };
  return [...Object.values(types).flat(), ...Object.keys(types)].join(",");
}

/**
 * Why a file cannot be sent, or null when it can.
 * @param {{name: string, type: string, size: number}} file
 * @param {UploadRules} rules
 * @returns {string|null}
 */
export function checkFile(file, rules) {
  const name = file.name.toLowerCase();
  const knownExtension = Object.values(rules.media_types).some((exts) =>
    exts.some((ext) => name.endsWith(ext)),
  );
  const volumes = volumeExtensions(rules);
  // Browsers give a NIfTI no media type of its own (".nii.gz" reads as gzip), so volumes go by extension.
  const volume = volumes.some((ext) => name.endsWith(ext)) || file.type in rules.volume_media_types;
  if (!knownExtension && !volume && !(file.type in rules.media_types)) {
    return `${file.name} is not a ${formatNames(rules)} image or a volume (${volumes.join(", ")}).`;
  }
  if (file.size === 0) return `${file.name} is empty.`;
  const limit = volume ? rules.volume_max_bytes : rules.max_bytes;
  if (file.size > limit) {
    return `${file.name} is ${formatBytes(file.size)}; the limit is ${formatBytes(limit)}.`;
  }
  return null;
}

/** Shown while the model cards load, and when they cannot be read: what the models so far were trained on. */
export const TRAINING_FALLBACK =
  "The models were trained on axial FLAIR slices; other sequences give less reliable masks.";

// Sequences a reader is likely to have at hand; those no model was trained on are named as less reliable.
const COMMON_SEQUENCES = ["FLAIR", "T1", "T2", "post-contrast"];

/** "axial FLAIR slices of 256 × 256 pixels", from a card's `trained_on`. */
function trainingSlices(trainedOn) {
  const kind = [trainedOn.plane, trainedOn.sequence].filter((w) => typeof w === "string" && w).join(" ");
  const size = formatSize(trainedOn.in_plane_size);
  return `${kind} slices${size === "—" ? "" : ` of ${size} pixels`}`;
}

/**
 * What the models expect, from their cards (GET /api/models): one sentence when the cards agree, each model
 * named when they do not.
 * @param {object[]} cards
 * @returns {string|null} null when no card says which sequence its model was trained on
 */
export function describeTrainingData(cards) {
  const described = (Array.isArray(cards) ? cards : [])
    .filter((card) => typeof card?.trained_on?.sequence === "string" && card.trained_on.sequence)
    .map((card) => ({
      name: card.display_name,
      sequence: card.trained_on.sequence.toLowerCase(),
      slices: trainingSlices(card.trained_on),
    }));
  if (!described.length) return null;
  const [first, ...rest] = described;
  const each = [
    `${first.name} was trained on ${first.slices}`,
    ...rest.map((d) => `${d.name} on ${d.slices}`),
  ];
  const agree = rest.length > 0 && rest.every((d) => d.slices === first.slices);
  const trained = agree ? `The models were trained on ${first.slices}` : each.join(", ");
  const sequences = new Set(described.map((d) => d.sequence));
  const others = COMMON_SEQUENCES.filter((s) => !sequences.has(s.toLowerCase()));
  const named = others.length ? ` (${others.join(", ")})` : "";
  return `${trained}; other sequences${named} give less reliable masks.`;
}

/** Types the browser itself can preview (TIFF it cannot). */
const PREVIEWABLE = ["image/png", "image/jpeg"];

/**
 * A drop zone around a file input, with a preview of the chosen image.
 * @returns {{element: HTMLElement, dispose: () => void}} dispose releases the preview
 */
function dropZone({ id, label, hint, accept, required, onFile }) {
  const input = h("input", {
    class: "visually-hidden",
    attrs: { type: "file", id, name: id, accept, required },
  });
  const chosen = h("p", { class: "drop-chosen", attrs: { "aria-live": "polite" } });
  const clear = h("button", {
    class: "link-button",
    text: "Remove",
    attrs: { type: "button", hidden: true },
  });
  const preview = h("img", {
    class: "drop-preview",
    attrs: { alt: `Preview of the ${label}`, hidden: true },
  });
  let previewUrl = null;
  const showPreview = (file) => {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = file && PREVIEWABLE.includes(file.type) ? URL.createObjectURL(file) : null;
    if (previewUrl) preview.src = previewUrl;
    else preview.removeAttribute("src");
    preview.hidden = !previewUrl;
  };
  const zone = h(
    "div",
    { class: "drop-zone" },
    preview,
    h(
      "label",
      { class: "drop-label", attrs: { for: id } },
      h("strong", { text: label }),
      h("span", { text: hint }),
    ),
    input,
    chosen,
    clear,
  );
  const set = (file) => {
    replaceChildren(chosen, file ? `${file.name} · ${formatBytes(file.size)}` : "");
    clear.hidden = !file;
    zone.classList.toggle("has-file", Boolean(file));
    if (!file) input.value = "";
    showPreview(file);
    onFile(file);
  };
  input.addEventListener("change", () => set(input.files[0] ?? null));
  clear.addEventListener("click", () => set(null));
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("is-over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("is-over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("is-over");
    const file = event.dataTransfer?.files?.[0];
    if (file) set(file);
  });
  return { element: zone, dispose: () => showPreview(null) };
}

/**
 * @param {HTMLElement} outlet
 * @param {{navigate: (hash: string) => void, config: import("../api.js").ServerConfig,
 *          models: import("../lineup.js").ModelView[]}} context
 * @returns {() => void} cleanup
 */
export function mountUpload(outlet, { navigate, config, models }) {
  const rules = config.upload;
  const controller = new AbortController();
  const files = { image: null, groundTruth: null };
  const error = h("div", { class: "alert", attrs: { role: "alert", hidden: true } });
  const progress = h("progress", { attrs: { max: "1", value: "0", "aria-label": "Upload progress" } });
  const progressRow = h("div", { class: "progress-row", attrs: { hidden: true } }, progress, h("span"));
  const submit = h("button", { class: "primary", text: "Upload and segment", attrs: { type: "submit" } });
  const modelBoxes = models.map(({ name }) =>
    h("input", {
      attrs: {
        type: "checkbox",
        id: `model-${name}`,
        value: name,
        checked: rules.default_models.includes(name),
      },
    }),
  );

  const showError = (text) => {
    replaceChildren(error, text ?? "");
    error.hidden = !text;
  };

  const zones = [
    dropZone({
      id: "image",
      label: "MRI slice or volume",
      hint:
        `Drop a ${formatNames(rules)} slice (up to ${formatBytes(rules.max_bytes)}) or a volume ` +
        `(${volumeExtensions(rules).join(", ")}; up to ${formatBytes(rules.volume_max_bytes)}) here, ` +
        "or choose a file. Required.",
      accept: acceptList(rules),
      required: true,
      onFile: (file) => (files.image = file),
    }),
    dropZone({
      id: "ground_truth",
      label: "Ground-truth mask",
      hint: "Optional. A binary mask of the same size (for a volume, a NIfTI on its grid) enables Dice, IoU, precision and recall.",
      accept: acceptList(rules),
      required: false,
      onFile: (file) => (files.groundTruth = file),
    }),
  ];
  // A file dropped beside the zones would make the browser leave the app to show it.
  const keepDropsInZones = (event) => {
    if (!event.target.closest?.(".drop-zone")) event.preventDefault();
  };
  window.addEventListener("dragover", keepDropsInZones);
  window.addEventListener("drop", keepDropsInZones);

  const form = h(
    "form",
    { class: "upload-form", attrs: { novalidate: true, "aria-describedby": "upload-help" } },
    h(
      "div",
      { class: "drop-grid" },
      zones.map((zone) => zone.element),
    ),
    h(
      "fieldset",
      { class: "model-choice" },
      h("legend", { text: "Models" }),
      models.map((model, i) =>
        h("label", { class: "check" }, modelBoxes[i], h("span", { text: model.label })),
      ),
    ),
    error,
    progressRow,
    h("div", { class: "form-actions" }, submit),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(null);
    const models = modelBoxes.filter((box) => box.checked).map((box) => box.value);
    const problems = [
      files.image ? checkFile(files.image, rules) : "Choose an MRI slice to upload.",
      files.groundTruth && checkFile(files.groundTruth, rules),
      models.length ? null : "Choose at least one model.",
    ].filter(Boolean);
    if (problems.length) {
      showError(problems.join(" "));
      return;
    }
    submit.disabled = true;
    progressRow.hidden = false;
    const label = progressRow.lastElementChild;
    const onProgress = (fraction) => {
      progress.value = fraction;
      label.textContent = fraction < 1 ? `Uploading ${Math.round(fraction * 100)} %` : "Queuing…";
    };
    onProgress(0);
    try {
      const scan = await uploadScan(
        { image: files.image, groundTruth: files.groundTruth, models },
        onProgress,
      );
      navigate(`#/cases/${encodeURIComponent(scan.id)}`);
    } catch (failure) {
      showError(failure.message);
      progressRow.hidden = true;
      submit.disabled = false;
    }
  });

  // Slices unlike the training data give worse masks: say what the models expect, from their cards.
  const expectation = h("span", { text: TRAINING_FALLBACK });
  replaceChildren(
    outlet,
    h(
      "section",
      { class: "page page-narrow" },
      h("h1", { text: "New scan", attrs: { tabindex: "-1" } }),
      h(
        "p",
        { class: "lede", attrs: { id: "upload-help" } },
        "Upload one brain MRI slice; the networks you pick segment it and you can follow them live. ",
        expectation,
      ),
      form,
    ),
  );
  getModels(controller.signal)
    .then((payload) => {
      const text = describeTrainingData(payload?.models);
      if (text) replaceChildren(expectation, text);
    })
    // The upload works without the cards: the static sentence stays.
    .catch(() => {});
  return () => {
    controller.abort();
    window.removeEventListener("dragover", keepDropsInZones);
    window.removeEventListener("drop", keepDropsInZones);
    for (const zone of zones) zone.dispose();
  };
}
