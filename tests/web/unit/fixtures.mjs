// What the server sends (tests/web/test_fixtures.py checks these files against it), for the unit tests.
import { readFileSync } from "node:fs";

import { setConfig } from "../../../web/js/api.js";
import { lineup } from "../../../web/js/lineup.js";

const read = (name) => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));

/** GET /api/config of a server with default settings. */
export const CONFIG = read("config.json");
/** One model card as GET /api/models serves it. */
export const CARD = read("model-card.json");
/** The models as the views show them. */
export const MODELS = lineup(CONFIG.models);
export const [UNETPP, ATTENTION] = MODELS;

setConfig(CONFIG);
