// The phone's fold against the cases the server's is checked with (tests/fixtures/fold_cases.json; run by
// `node --test`), then what run.js relies on beyond them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { applyEvent, counts, coveredSteps, fold, missingCritical, newState, openFollowUpSteps } from "../../static/js/fold.js";

const { protocols, cases } = JSON.parse(readFileSync(new URL("../fixtures/fold_cases.json", import.meta.url)));
const UNTOUCHED = { status: "todo", value: null, note: null, at: null, event: null };

// The fixture's protocol as run.js describes the page's: the steps in order, with their phase.
const protocolOf = (name) => ({
  steps: protocols[name].phases.flatMap((phase) => phase.steps.map((step) => ({
    id: step.id, critical: step.critical, phase: phase.id, followUp: Boolean(phase.follow_up) }))),
});

for (const c of cases) {
  test(c.name, () => {
    const protocol = protocolOf(c.protocol);
    const state = fold(protocol, c.events);
    const { expected } = c;
    const steps = Object.fromEntries(protocol.steps.map((s) => [s.id, Object.fromEntries(
      Object.keys(UNTOUCHED).map((key) => [key, state.steps[s.id][key]]))]));
    assert.deepEqual(steps, Object.fromEntries(protocol.steps.map((s) => [s.id, expected.steps[s.id] ?? UNTOUCHED])));
    assert.equal(state.status, expected.status);
    assert.deepEqual(missingCritical(state, protocol), expected.missing_critical);
    assert.deepEqual(counts(state), expected.counts);
    assert.deepEqual(coveredSteps(state, protocol), expected.covered);
    assert.deepEqual(state.superseded.map(({ event, by, step }) => ({ event, by, step })), expected.superseded);
    assert.deepEqual(state.deviations.map((d) => d.event), expected.deviations);
    assert.deepEqual(state.notes.map((n) => n.event), expected.notes);
  });
}

const plain = protocolOf("plain");
const at = (minute) => `2026-03-02T10:${String(minute).padStart(2, "0")}:00Z`;

test("applyEvent says whether the answer was drawn or superseded", () => {
  const state = newState(plain);
  assert.equal(applyEvent(state, { id: "a", type: "step.set", step: "brief", value: true, at: at(5) }), "applied");
  assert.equal(applyEvent(state, { id: "b", type: "step.cleared", step: "brief", at: at(4) }), "superseded");
  assert.equal(state.steps.brief.status, "done");
  assert.equal(applyEvent(state, { id: "c", type: "step.set", step: "no-such-step", value: true, at: at(6) }), "ignored");
});

test("a page drawn by the server is folded on from its own state, which stays as it was", () => {
  // run.js starts from the state the page shows (answers the server drew carry no device time here).
  const drawn = newState(plain, "returned");
  drawn.steps.brief = { ...UNTOUCHED, status: "done" };
  drawn.deviations.push({ event: null, step: "debrief" });
  const state = fold(plain, [{ id: "x", type: "step.set", step: "consent", value: "yes", at: at(1) }], drawn);
  assert.deepEqual(missingCritical(state), []);
  assert.deepEqual(missingCritical(drawn), ["consent"], "the start is copied, never changed");
  assert.equal(state.status, "returned");
  assert.equal(fold(plain, [{ id: "y", type: "step.cleared", step: "brief", at: at(2) }], drawn).steps.brief.status, "todo",
    "an answer the page drew without a time is replaced by any later change");
});

test("follow-up steps still open, in protocol order", () => {
  const protocol = protocolOf("follow_up");
  const state = fold(protocol, [{ id: "a", type: "step.set", step: "referral", value: true, at: at(1) }], newState(protocol, "follow_up"));
  assert.deepEqual(openFollowUpSteps(state), ["check-in"]);
  assert.equal(state.status, "follow_up");
});
