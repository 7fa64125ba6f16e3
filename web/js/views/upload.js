/**
 * Upload view: pick or drop an MRI slice and, optionally, its ground-truth mask; check them; send them with
 * progress; open the case when the server has accepted it.
 */
import { MODELS, MODEL_LABELS, uploadScan } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { formatBytes } from "../format.js";

/** Formats the server decodes. */
export const ACCEPTED_TYPES = Object.freeze(["image/png", "image/jpeg", "image/tiff"]);
export const ACCEPTED_EXTENSIONS = Object.freeze([".png", ".jpg", ".jpeg", ".tif", ".tiff"]);
// The server's default MAX_UPLOAD_BYTES; it answers 413 with its own message if it is set lower.
export const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;

/**
 * Why a file cannot be sent, or null when it can.
 * @param {{name: string, type: string, size: number}} file
 * @returns {string|null}
 */
export function checkFile(file) {
  const name = file.name.toLowerCase();
  const knownExtension = ACCEPTED_EXTENSIONS.some((ext) => name.endsWith(ext));
  if (!knownExtension && !ACCEPTED_TYPES.includes(file.type)) {
    return `${file.name} is not a PNG, JPEG or TIFF image.`;
  }
  if (file.size === 0) return `${file.name} is empty.`;
  if (file.size > MAX_UPLOAD_BYTES) {
    return `${file.name} is ${formatBytes(file.size)}; the limit is ${formatBytes(MAX_UPLOAD_BYTES)}.`;
  }
  return null;
}

/** Types the browser itself can preview (TIFF it cannot). */
const PREVIEWABLE = ["image/png", "image/jpeg"];

/**
 * A drop zone around a file input, with a preview of the chosen image.
 * @returns {{element: HTMLElement, dispose: () => void}} dispose releases the preview
 */
function dropZone({ id, label, hint, required, onFile }) {
  const input = h("input", {
    class: "visually-hidden",
    attrs: {
      type: "file",
      id,
      name: id,
      accept: [...ACCEPTED_EXTENSIONS, ...ACCEPTED_TYPES].join(","),
      required,
    },
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
 * @param {{navigate: (hash: string) => void}} context
 * @returns {() => void} cleanup
 */
export function mountUpload(outlet, { navigate }) {
  const files = { image: null, groundTruth: null };
  const error = h("div", { class: "alert", attrs: { role: "alert", hidden: true } });
  const progress = h("progress", { attrs: { max: "1", value: "0", "aria-label": "Upload progress" } });
  const progressRow = h("div", { class: "progress-row", attrs: { hidden: true } }, progress, h("span"));
  const submit = h("button", { class: "primary", text: "Upload and segment", attrs: { type: "submit" } });
  const modelBoxes = MODELS.map((model) =>
    h("input", { attrs: { type: "checkbox", id: `model-${model}`, value: model, checked: true } }),
  );

  const showError = (text) => {
    replaceChildren(error, text ?? "");
    error.hidden = !text;
  };

  const zones = [
    dropZone({
      id: "image",
      label: "MRI slice",
      hint: "Drop a PNG, JPEG or TIFF here, or choose a file. Required.",
      required: true,
      onFile: (file) => (files.image = file),
    }),
    dropZone({
      id: "ground_truth",
      label: "Ground-truth mask",
      hint: "Optional. A binary mask of the same size enables Dice, IoU, precision and recall.",
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
      MODELS.map((model, i) =>
        h("label", { class: "check" }, modelBoxes[i], h("span", { text: MODEL_LABELS[model] })),
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
      files.image ? checkFile(files.image) : "Choose an MRI slice to upload.",
      files.groundTruth && checkFile(files.groundTruth),
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

  replaceChildren(
    outlet,
    h(
      "section",
      { class: "page page-narrow" },
      h("h1", { text: "New scan", attrs: { tabindex: "-1" } }),
      h("p", {
        class: "lede",
        attrs: { id: "upload-help" },
        text: "Upload one axial brain MRI slice (FLAIR). Both networks segment it; you can follow them live.",
      }),
      form,
    ),
  );
  return () => {
    window.removeEventListener("dragover", keepDropsInZones);
    window.removeEventListener("drop", keepDropsInZones);
    for (const zone of zones) zone.dispose();
  };
}
