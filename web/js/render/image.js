/**
 * Fetching an image from the API and reading its pixels. Decoding runs off the main thread
 * (createImageBitmap), so the page stays responsive while large scans load.
 */

/**
 * @param {string} url
 * @param {AbortSignal} [signal]
 * @returns {Promise<{width: number, height: number, rgba: Uint8ClampedArray}>}
 */
export async function loadPixels(url, signal) {
  const response = await fetch(url, { signal });
  if (!response.ok) throw new Error(`could not load ${url} (HTTP ${response.status})`);
  const bitmap = await createImageBitmap(await response.blob(), {
    colorSpaceConversion: "none",
    premultiplyAlpha: "none",
  });
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
  return { width: canvas.width, height: canvas.height, rgba: data };
}
