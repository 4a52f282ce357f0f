// The phone's red-flag rules against the cases the server's are checked with (run by `node --test`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { answerReasons } from "../../static/js/flags.js";

const { cases } = JSON.parse(readFileSync(new URL("../fixtures/flag_rules.json", import.meta.url)));

for (const c of cases) {
  test(c.name, () => {
    const rule = { expected: c.rule.expected, flagEquals: c.rule.flag_equals, flagAbove: c.rule.flag_above,
      of: c.rule.of };
    const found = answerReasons(rule, c.value, c.denominator ?? undefined).map((r) => r.rule);
    assert.deepEqual(found, c.rules);
  });
}
