// The phone's personal-data guard against the table the server's is checked with (run by `node --test`):
// each case finds exactly the kinds and pieces of text listed, in order, at offsets that point at them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { findPersonalData } from "../../static/js/personal-data.js";

const { languages } = JSON.parse(readFileSync(new URL("../fixtures/personal_data.json", import.meta.url)));

const cases = Object.entries(languages).flatMap(([language, { found, ordinary }]) => [
  ...found.map((c) => ({ ...c, id: `${language}-found-${c.name}` })),
  ...ordinary.map((c) => ({ ...c, id: `${language}-ordinary-${c.name}`, kinds: [], texts: [] })),
]);

for (const c of cases) {
  test(c.id, () => {
    const spans = findPersonalData(c.text);
    assert.deepEqual(spans.map((s) => s.kind), c.kinds);
    assert.deepEqual(spans.map((s) => s.text), c.texts);
    for (const s of spans) assert.equal(c.text.slice(s.start, s.end), s.text);
  });
}
