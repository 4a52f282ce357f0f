// What a run's events add up to, for the phone: the fold and the completion rule of donoharm/runs/state.py
// (RunState.apply, missing_critical, counts), with no page in sight. run.js draws what this decides. Both are
// checked against the same cases (tests/fixtures/fold_cases.json), so the phone and the server agree.
//
// protocol: {steps: [{id, critical, phase, followUp}]}: the steps in the protocol's order.
// event: {id, type, step, value, note, at}: `at` is the device time the change was made (ISO 8601).
// Texts a supervisor removed are not folded here: the phone drops its own copies of them (outbox.js).

const STEP_ANSWERS = ["step.set", "step.cleared", "step.na"];

const blank = () => ({ status: "todo", value: null, note: null, at: null, event: null });

// Whether a device time is earlier than the time the step's current answer was made.
function madeBefore(at, currentAt) {
  if (currentAt === null || currentAt === undefined) return false;
  return Date.parse(at) < Date.parse(currentAt);
}

// A state with nothing recorded yet (or, given a status, as a page drawn in that status starts).
export function newState(protocol, status = "in_progress") {
  return {
    protocol,
    status,
    steps: Object.fromEntries(protocol.steps.map((step) => [step.id, blank()])),
    notes: [],
    deviations: [],
    submissions: [],
    reviews: [],
    superseded: [],  // answers that arrived after a later-made one
  };
}

// A copy of a state that applying events to does not change the original.
export function copyState(state) {
  return { ...JSON.parse(JSON.stringify({ ...state, protocol: null })), protocol: state.protocol };
}

const hasFollowUp = (protocol) => protocol.steps.some((step) => step.followUp);

// Apply one event to the state (changed in place). Returns "applied", "superseded" (an answer made earlier
// than the step's current one: the answer made last wins, whichever arrived last) or "ignored" (an answer to
// a step the protocol does not have).
export function applyEvent(state, event) {
  const { type, step, at } = event;
  const entry = { event: event.id, at };
  const current = state.steps[step];
  if (STEP_ANSWERS.includes(type) && !current) return "ignored";
  if (STEP_ANSWERS.includes(type) && madeBefore(at, current.at)) {
    state.superseded.push({ ...entry, step, type, value: event.value ?? null, by: current.event });
    return "superseded";
  }
  if (type === "step.set") {
    state.steps[step] = { status: "done", value: event.value, note: event.note ?? null, at, event: event.id };
  } else if (type === "step.cleared") {
    state.steps[step] = { ...blank(), at, event: event.id };
  } else if (type === "step.na") {
    state.steps[step] = { status: "na", value: null, note: event.note ?? null, at, event: event.id };
  } else if (type === "note") {
    state.notes.push({ ...entry, step: step ?? null, note: event.note });
  } else if (type === "deviation") {
    state.deviations.push({ ...entry, id: event.id, step: step ?? null, note: event.note });
  } else if (type === "run.submitted") {
    state.status = "submitted";
    state.submissions.push({ ...entry, attestation: event.value });
  } else if (type === "review.returned") {
    state.status = "returned";
    state.reviews.push({ ...entry, decision: "returned", comment: event.note ?? null });
  } else if (type === "review.approved") {
    // With follow-up phases, approval opens the follow-up (closed at once below if all is answered).
    state.status = hasFollowUp(state.protocol) ? "follow_up" : "approved";
    state.reviews.push({ ...entry, decision: "approved", comment: event.note ?? null });
  }
  if (state.status === "follow_up" && !openFollowUpSteps(state).length) state.status = "closed";
  return "applied";
}

// Fold events, in the order they were stored, into a run's state (from `start`, a copy of which is changed).
export function fold(protocol, events, start = newState(protocol)) {
  const state = copyState(start);
  for (const event of events) applyEvent(state, event);
  return state;
}

// The steps a deviation was recorded for.
export const deviatedSteps = (state) => new Set(state.deviations.map((d) => d.step).filter(Boolean));

// Critical steps neither answered, marked not applicable, nor covered by a deviation: what blocks a submission.
export function missingCritical(state, protocol = state.protocol) {
  const covered = deviatedSteps(state);
  return protocol.steps.filter((step) => step.critical && state.steps[step.id].status === "todo"
    && !covered.has(step.id)).map((step) => step.id);
}

// Steps still to do that a deviation covers (shown as "Deviation recorded", not as open).
export function coveredSteps(state, protocol = state.protocol) {
  const covered = deviatedSteps(state);
  return protocol.steps.filter((step) => state.steps[step.id].status === "todo" && covered.has(step.id))
    .map((step) => step.id);
}

// Follow-up steps still to do (answered after approval; once none is left the run is closed).
export function openFollowUpSteps(state, protocol = state.protocol) {
  return protocol.steps.filter((step) => step.followUp && state.steps[step.id].status === "todo")
    .map((step) => step.id);
}

// How many steps are done, not applicable and still to do.
export function counts(state) {
  const found = { done: 0, na: 0, todo: 0 };
  for (const entry of Object.values(state.steps)) found[entry.status] += 1;
  return found;
}
