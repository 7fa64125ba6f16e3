// Every module of the web app parses and links (imports resolve, imported names exist), so a typo fails here
// even where no browser is installed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const WEB_JS = fileURLToPath(new URL("../../../web/js/", import.meta.url));
// The entry point touches the document as it loads; it is only syntax-checked.
const ENTRY = "main.js";

function modules(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return modules(path);
    return entry.name.endsWith(".js") ? [path] : [];
  });
}

for (const path of modules(WEB_JS)) {
  const name = relative(WEB_JS, path);
  test(`${name} loads`, async () => {
    if (name === ENTRY) {
      const check = spawnSync(process.execPath, ["--input-type=module", "--check"], {
        input: readFileSync(path),
      });
      assert.equal(check.status, 0, String(check.stderr));
      return;
    }
    const loaded = await import(pathToFileURL(path).href);
    assert.ok(Object.keys(loaded).length > 0, `${name} exports nothing`);
  });
}
