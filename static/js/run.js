// The run screen with JavaScript: every answer is saved on this phone first and shown at once,
// then sent by the outbox. Pages for runs started offline are blank copies filled in from local events.
import { confirmRefusedText, discardRefused, dismissNotice, dropRemovedTexts, eventsOf, forgetSent, localRun,
  noticesOf, ownedBy, pending, receiptOf, saveEvent } from "./outbox.js";
import { clearErrors, showError } from "./errors.js";
import { findPersonalData } from "./personal-data.js";
import { hasForbiddenCharacters, timeOfDay } from "./text.js";
import { answerReasons as reasonsFor } from "./flags.js";
import { applyEvent, copyState, counts, coveredSteps, fold, missingCritical, newState, openFollowUpSteps } from "./fold.js";

let root, data, S, runId, user;
// What the page's changes add up to, decided by fold.js as the server's fold decides it (donoharm/runs/state.py):
// which answer stands, each step's status, the deviations, the completion rule and the run's status. `drawn` is
// the state the page was drawn in (by the server, or the blank copy); `state` adds the changes shown since.
let protocol, drawn, state;
let followUpPage = false;  // the page was drawn for a run in follow_up (approved; only follow-up steps open)
// The page as the server (or the blank copy) drew it, before any change saved on this phone was shown:
// a change the server refuses is taken off the screen by drawing its step again from here.
const pristine = new Map();
let shownRefusals = "";
const drawnNotices = new Set();

const fill = (template, values) => Object.entries(values).reduce((t, [k, v]) => t.replaceAll(`{${k}}`, v), template);
const clock = (iso) => (iso ? new Date(iso).toTimeString().slice(0, 5) : "");
const stepItem = (step) => (step ? root.querySelector(`li.run-step[data-step="${CSS.escape(step)}"]`) : null);

// A text a supervisor removed, as the server's pages show it (templates/runs/_text.html): never "null".
function removedMark() {
  const em = document.createElement("em");
  em.className = "text-removed";
  em.textContent = S.redacted;
  return em;
}

// The note of an event as shown: its text, or the mark when a supervisor removed it.
const shownNote = (event) => (event.redacted && event.note == null ? removedMark() : event.note || "");

function para(className, prefix, text, at) {
  const p = document.createElement("p");
  p.className = className;
  const strong = document.createElement("strong");
  strong.textContent = prefix;
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = clock(at);
  p.append(strong, " ", text, " ", meta);
  return p;
}

function setTag(li) {
  const status = li.dataset.status === "todo" && li.dataset.deviated === "true" ? "deviation" : li.dataset.status;
  const tag = li.querySelector("[data-role=status]");
  tag.className = `tag tag-${status}`;
  const hidden = document.createElement("span");
  hidden.className = "visually-hidden";
  hidden.textContent = `${S.status_prefix} `;
  tag.replaceChildren(hidden, S[status]);
}

// Kinds whose answer rides on the step (data-value) for the red-flag rules, as templates/runs/_step.html has it.
const JUDGED_KINDS = ["yesno", "choice", "count"];
const stepText = (li) => li.querySelector(".step-text span").textContent;

// An answer as the server draws it: "Answer: <strong data-role=answer>…</strong> HH:MM".
function answerPara(li, value, at, redacted = false) {
  const p = document.createElement("p");
  p.className = "answer";
  const strong = document.createElement("strong");
  strong.dataset.role = "answer";
  if (redacted && value == null) strong.append(removedMark());
  else strong.textContent = answerText(li, value);
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = clock(at);
  p.append(`${S.answer} `, strong, " ", meta);
  return p;
}

// The answer of a step as the red-flag rules read it (a number for counts), or undefined when not answered.
function answerValue(li) {
  if (!li || li.dataset.status !== "done" || li.dataset.value === undefined) return undefined;
  return li.dataset.kind === "count" ? Number(li.dataset.value) : li.dataset.value;
}

// Why the step's answer is a red flag, in words (empty when it is not): the same rules as
// donoharm/runs/flags.py, applied by flags.js to the rule and answer read from the step's data attributes.
function answerReasons(li) {
  const { expected, flagEquals, flagAbove } = li.dataset;
  const of = li.dataset.of ? stepItem(li.dataset.of) : null;
  const rule = { expected, flagEquals: flagEquals ? flagEquals.split(",") : [],
    flagAbove: flagAbove === undefined ? undefined : Number(flagAbove), of: li.dataset.of };
  const words = {
    expected: () => fill(S.flag_expected, { answer: expected === "yes" ? S.yes : S.no }),
    equals: () => S.flag_equals,
    above: (r) => fill(S.flag_above, { limit: r.limit }),
    of: (r) => fill(S.flag_of, { limit: r.limit, step: stepText(of) }),
  };
  return reasonsFor(rule, answerValue(li), answerValue(of)).map((r) => words[r.rule](r));
}

// The deviation notes recorded for a step (or, with the run-notes section, for the whole operation).
const deviationNotes = (place) => [...place.querySelectorAll(
  place.matches("li.run-step") ? "[data-role=record] .deviation-note" : ":scope > .deviation-note")];

function noteText(paragraph) {
  const copy = paragraph.cloneNode(true);
  copy.querySelectorAll("strong, .meta").forEach((el) => el.remove());
  return copy.textContent.trim();
}

// Red flags, as the server counts them (RunState.red_flags): each flagged answer and each deviation. Marks
// every step again, redraws the count in the run's header and the list by the submit form; returns the count.
function signals() {
  let count = 0;
  let first = null;
  const items = [];
  for (const li of root.querySelectorAll("li.run-step")) {
    const strong = li.querySelector("[data-role=record] [data-role=answer]");
    if (strong && li.dataset.of && answerValue(li) !== undefined) strong.textContent = answerText(li, answerValue(li));
    const reasons = answerReasons(li);
    const deviations = deviationNotes(li);
    const shown = deviations.length ? [...reasons, S.flag_deviation] : reasons;
    if (shown.length) li.dataset.flagged = "true"; else delete li.dataset.flagged;
    const box = li.querySelector("[data-role=flag]");
    if (box) {
      box.hidden = !shown.length;
      box.querySelector("[data-role=flag-reasons]").replaceChildren(...shown.map((reason) => {
        const item = document.createElement("li");
        item.textContent = reason;
        return item;
      }));
    }
    const link = `#step-${li.dataset.step}`;
    if (reasons.length) {
      const answer = document.createElement("strong");
      answer.textContent = answerText(li, answerValue(li));
      items.push(flagItem(link, stepText(li), [`— ${S.answer} `, answer, `. ${reasons.join(" ")}`]));
    }
    for (const note of deviations) items.push(deviationItem(link, stepText(li), note));
    count += (reasons.length ? 1 : 0) + deviations.length;
    if (!first && shown.length) first = link;
  }
  const notes = document.getElementById("run-notes");
  for (const note of notes ? deviationNotes(notes) : []) {
    items.push(deviationItem("#run-notes", S.whole_operation, note));
    count += 1;
    first = first || "#run-notes";
  }
  const header = root.querySelector("[data-role=flags]");
  if (header) {
    header.hidden = !count;
    header.querySelector("[data-role=flag-count]").textContent = fill(S.flag_count, { n: count });
    header.querySelector("[data-role=first-flag]").setAttribute("href", first || "#run-notes");
  }
  const summary = root.querySelector("[data-role=flag-summary]");
  if (summary) {
    summary.hidden = !count;
    summary.querySelector("[data-role=flag-summary-count]").textContent = fill(S.flag_count, { n: count });
    summary.querySelector("[data-role=flag-sentence]").textContent =
      root.dataset.mode === "practice" ? S.flag_sentence_practice : S.flag_sentence;
    summary.querySelector("[data-role=flag-list]").replaceChildren(...items);
  }
  return count;
}

// One line of the red-flag list by the submit form, as templates/runs/_flags.html draws it.
function flagItem(href, label, rest) {
  const item = document.createElement("li");
  const link = document.createElement("a");
  link.href = href;
  link.textContent = label;
  item.append(link, " ", ...rest);
  return item;
}

function deviationItem(href, label, note) {
  const prefix = document.createElement("strong");
  prefix.textContent = S.deviation_prefix;
  return flagItem(href, label, ["— ", prefix, ` ${noteText(note)}`]);
}

// A run in follow_up: each follow-up phase's "due" notice goes once all its steps are answered, and once every
// follow-up step is, the run is closed (as the server will have it when the changes are sent).
function followUp() {
  if (!followUpPage) return;
  const phaseOf = Object.fromEntries(protocol.steps.map((step) => [step.id, step.phase]));
  const openPhases = new Set(openFollowUpSteps(state, protocol).map((id) => phaseOf[id]));
  root.querySelectorAll("[data-role=follow-up-notice]").forEach((notice) => { notice.hidden = !openPhases.has(notice.dataset.phase); });
  const closed = state.status === "closed";
  root.dataset.status = closed ? "closed" : "follow_up";
  root.querySelector("[data-role=run-status]").textContent = closed ? S.closed : S.follow_up;
  const section = root.querySelector("[data-role=follow-up]");
  if (section) section.hidden = closed;
  root.querySelectorAll("details.step-actions").forEach((el) => { el.hidden = closed; });
}

function answerText(li, value) {
  const kind = li.dataset.kind;
  if (kind === "check") return S.done_answer;
  if (kind === "yesno") return value === "yes" ? S.yes : S.no;
  const total = kind === "count" && li.dataset.of ? answerValue(stepItem(li.dataset.of)) : undefined;
  if (total !== undefined) return fill(S.count_of, { count: value, total });
  if (kind === "choice") {
    const label = li.querySelector(`label[for="v-${CSS.escape(li.dataset.step)}-${CSS.escape(value)}"]`);
    return label ? label.textContent : value;
  }
  return String(value);
}

// The words for an answer as the page shows it (for a refused change's or another phone's answer).
function describe(li, type, value, note, redacted = false) {
  if (type === "step.na") return `${S.na_prefix} ${redacted && note == null ? S.redacted : note || ""}`.trim();
  if (type === "step.cleared") return S.todo;
  if (type === "step.set") return redacted && value == null ? S.redacted : answerText(li, value);
  return redacted && note == null ? S.redacted : note || "";
}

function setAnswer(li, className, node) {
  const record = li.querySelector("[data-role=record]");
  record.querySelectorAll("p.answer").forEach((p) => p.remove());
  if (node) { node.classList.add(className); record.prepend(node); }
}

function closeForms(li) {
  li.querySelectorAll("details[open]").forEach((d) => { d.open = false; });
  li.querySelectorAll("textarea").forEach((t) => { t.value = ""; });
  li.querySelectorAll("form.event-form").forEach(closePersonalData);
}

// Show one event on the page, as the server's page would after folding it. A refused change is not
// shown as recorded: the banner above names it instead. An answer made (by device time) before the step's
// current one does not replace it, on the server or here (fold.js): its form just closes.
function apply(event) {
  if (event.error) return;
  const li = stepItem(event.step);
  const outcome = applyEvent(state, event);
  if (outcome !== "applied") {
    if (li) closeForms(li);
    return;
  }
  if (li) li.dataset.local = "true";
  if (li && ["step.set", "step.cleared", "step.na"].includes(event.type)) li.dataset.status = state.steps[event.step].status;
  if (event.type === "step.set" && li) {
    if (JUDGED_KINDS.includes(li.dataset.kind) && event.value !== null) li.dataset.value = String(event.value);
    setAnswer(li, "answer", answerPara(li, event.value, event.at, event.redacted));
  } else if (event.type === "step.cleared" && li) {
    delete li.dataset.value;
    setAnswer(li, "answer", null);
  } else if (event.type === "step.na" && li) {
    delete li.dataset.value;
    setAnswer(li, "answer", para("answer", S.na_prefix, shownNote(event), event.at));
  } else if (event.type === "deviation" || event.type === "note") {
    const deviation = event.type === "deviation";
    const node = para(deviation ? "deviation-note" : "step-note", deviation ? S.deviation_prefix : S.note_prefix,
      shownNote(event), event.at);
    if (li) {
      li.querySelector("[data-role=record]").append(node);
      if (deviation) li.dataset.deviated = "true";
    } else {
      const notes = document.getElementById("run-notes");
      notes.dataset.local = "true";
      notes.querySelector("h2").after(node);
      const none = notes.querySelector(":scope > p.meta");  // "None recorded." no longer true
      if (none) none.remove();
    }
  } else if (event.type === "run.submitted") {
    root.dataset.status = "submitted";
    root.dataset.editable = "false";
    root.querySelector("[data-role=run-status]").textContent =
      root.dataset.mode === "practice" ? S.submitted_practice : S.submitted;
    root.querySelectorAll("details.step-actions, .actions, #offline-submit").forEach((el) => { el.hidden = true; });
    root.dataset.submittedHere = "true";
  }
  if (li) {
    setTag(li);
    setToggleLabel(li);
    closeForms(li);
    const clear = li.querySelector("[data-role=clear]");  // an answer made here can be cleared here
    if (clear) clear.hidden = li.dataset.status === "todo";
  }
}

// The step's toggle says "Answer" while it is open and "Change" once answered, as the server draws it.
function setToggleLabel(li) {
  const toggle = li.querySelector("details.step-actions > summary");
  if (!toggle) return;
  const word = li.dataset.status === "todo" ? S.answer_verb : S.change;
  const text = [...toggle.childNodes].find((node) => node.nodeType === Node.TEXT_NODE && node.textContent.trim());
  if (text) text.textContent = word;
  else toggle.prepend(word);
}

// Draw the steps that show changes from this phone again, leaving out refused ones (after a refusal, or
// when a refused change was accepted on a later try).
async function redraw() {
  for (const li of root.querySelectorAll("li.run-step[data-local=true]")) {
    li.replaceWith(pristine.get(li.dataset.step).cloneNode(true));
  }
  const notes = document.getElementById("run-notes");
  if (notes && notes.dataset.local === "true") notes.replaceWith(pristine.get("").cloneNode(true));
  state = copyState(drawn);
  const known = new Set(data.events);
  for (const event of (await eventsOf(runId)).filter(ownedBy(user))) if (!known.has(event.id)) apply(event);
  progress();
}

// The protocol as the page draws it: its steps in order, each with its phase, for fold.js.
function pageProtocol() {
  return { steps: [...root.querySelectorAll("li.run-step")].map((li) => ({
    id: li.dataset.step, critical: li.dataset.critical === "true", followUp: li.dataset.followUp === "true",
    phase: li.closest("section.phase") ? li.closest("section.phase").dataset.phase : "" })) };
}

// The state the page was drawn in: each step's status, the steps a deviation was recorded for, the run's status.
// The page's answers carry no device time here, so any change made on this phone replaces them.
function pageState() {
  const found = newState(protocol, root.dataset.status || "in_progress");
  for (const li of root.querySelectorAll("li.run-step")) {
    found.steps[li.dataset.step].status = li.dataset.status;
    if (li.dataset.deviated === "true") found.deviations.push({ event: null, step: li.dataset.step });
  }
  return found;
}

// The critical steps still open (not answered, not N/A, no deviation): what blocks a submission.
const openCritical = () => missingCritical(state, protocol).map(stepItem);

function progress() {
  signals();
  followUp();
  const count = counts(state);
  const covered = coveredSteps(state, protocol).length;
  const missing = missingCritical(state, protocol).length;
  const line = root.querySelector("[data-role=progress]");
  line.textContent = fill(S.progress, { done: count.done, total: protocol.steps.length, na: count.na });
  if (covered) line.append(" ", fill(covered === 1 ? S.covered_one : S.covered, { n: covered }));
  if (missing) {
    const strong = document.createElement("strong");
    strong.textContent = fill(missing === 1 ? S.critical_one : S.critical_other, { n: missing });
    line.append(" ", strong);
  }
  return missing;
}

// Which change a refusal is about, in the page's words: the step and the answer, or the note.
function changeName(event) {
  const li = stepItem(event.step);
  const what = describe(li, event.type, event.value, event.note, event.redacted);
  if (event.type === "run.submitted") return S.submission;
  if (!li) return what;
  const step = li.querySelector(".step-text span").textContent;
  return what ? `${step} — ${what}` : step;
}

// The line under the status: saved on this phone, all sent, refused, or signed out.
async function showSync(state) {
  const box = document.getElementById("sync-status");
  const { runs, events } = await pending();
  const mine = [...runs.filter((r) => r.id === runId), ...events.filter((e) => e.run === runId)].filter(ownedBy(user));
  const refused = mine.find((x) => x.error);
  const refusals = mine.filter((x) => x.error).map((x) => x.id).join();
  if (refusals !== shownRefusals) {  // a change was refused, or a refused one went through on a later try
    shownRefusals = refusals;
    await redraw();
  }
  // The same refusal still stands: leave the banner as it is (the person may be half-way through discarding).
  if (refused && box.dataset.refused === `${refused.id} ${refused.error}`) return;
  box.dataset.refused = refused ? `${refused.id} ${refused.error}` : "";
  box.replaceChildren();
  if (refused && refused.run && refused.errorCode === "personal_data_suspected") {
    // The server's guard found what this phone's did not (a change saved by an older version of the app,
    // say): the person confirms it identifies nobody and it goes again, or discards it.
    box.dataset.state = "error";
    const parts = (refused.errorSpans || [])
      .map((span) => `“${span.text}” (${S.pd_kinds[span.kind] || span.kind})`);
    box.textContent = fill(S.pd_refused, { change: changeName(refused), parts: parts.join(", ") });
    box.append(" ", sendConfirmedButton(refused), " ", discardButton(refused));
  } else if (refused) {
    box.dataset.state = "error";
    box.textContent = refused.run
      ? fill(S.refused_change, { change: changeName(refused), reason: refused.error })
      : fill(S.refused, { reason: refused.error });
    if (refused.run) box.append(" ", discardButton(refused));  // an event; a refused run keeps its answers
  } else if (mine.length && state === "signed-out") {
    box.dataset.state = "error";
    const link = document.createElement("a");
    link.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    link.textContent = S.sign_in;
    box.append(fill(mine.length === 1 ? S.signed_out_one : S.signed_out, { n: mine.length }), " ", link);
  } else if (mine.length) {
    box.dataset.state = "saved";
    box.textContent = fill(mine.length === 1 ? S.saved_one : S.saved, { n: mine.length });
  } else if (state) {
    box.dataset.state = "sent";
    box.textContent = S.sent;
  }
}

// A change the server's personal-data guard questioned: the person says it identifies nobody, and it is sent
// again with that confirmation.
function sendConfirmedButton(refused) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button-secondary";
  button.textContent = S.pd_send;
  button.addEventListener("click", async () => {
    button.disabled = true;
    await confirmRefusedText(refused.id);
    await showSync("saved");
    window.dispatchEvent(new Event("dnh:send"));
  });
  return button;
}

// Two taps to give up a refused change: "Discard this change", then "Yes, discard it".
function discardButton(refused) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button-secondary";
  button.textContent = S.discard;
  button.addEventListener("click", () => {
    const question = document.createElement("span");
    question.textContent = `${S.discard_confirm} `;
    const yes = document.createElement("button");
    yes.type = "button";
    yes.className = "button-warning";
    yes.textContent = S.discard_yes;
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      await discardRefused(refused.id);
      location.reload();  // the screen is rebuilt, and the changes after it are tried on their own merits
    });
    button.replaceWith(question, yes);
    yes.focus();
  });
  return button;
}

// Shown like the server's field errors, announced at once, tied to the field when there is one.
export function fieldError(form, message, field = null) {
  showError(form, message, field);
}

// A problem with one field of a step form (the answer, or the reason or note).
class FieldProblem extends Error {
  constructor(message, field) { super(message); this.field = field; }
}

// Turn a step form into an event, or explain what is missing (the same rules as the server).
function eventFrom(form, submitter) {
  const fields = new FormData(form);
  if (submitter && submitter.name) fields.set(submitter.name, submitter.value);
  const type = fields.get("type");
  const step = fields.get("step") || null;
  const note = String(fields.get("note") || "").trim() || null;
  let value = null;
  const valueField = form.querySelector("input[name=value]:not([type=radio]), textarea[name=value]")
    || form.querySelector("input[name=value]");
  const noteField = form.querySelector("textarea[name=note]");
  if (type === "step.set") {
    const kind = stepItem(step).dataset.kind;
    const raw = String(fields.get("value") || "").trim();
    if (kind === "check") value = true;
    else if (kind === "count") {
      if (!/^\d+$/.test(raw)) throw new FieldProblem(S.count_invalid, valueField);
      value = Number(raw);
    } else if (kind === "time" && raw) {
      value = timeOfDay(raw);
      if (!value) throw new FieldProblem(S.time_invalid, valueField);
    } else if (!raw) throw new FieldProblem(S.value_required, valueField);
    else value = raw;
    if (typeof value === "string" && hasForbiddenCharacters(value, true)) throw new FieldProblem(S.text_invalid, valueField);
  }
  if (note && hasForbiddenCharacters(note, true)) throw new FieldProblem(S.text_invalid, noteField);
  if (type === "step.na" && !note) throw new FieldProblem(S.reason_required, noteField);
  if (type === "deviation" && !note) throw new FieldProblem(S.note_required, noteField);
  // A free-text answer is kept marked as one on the phone: if a supervisor removes it, the copy here goes too.
  const textAnswer = type === "step.set" && stepItem(step).dataset.kind === "text";
  return textAnswer ? { type, step, value, note, value_is_text: true } : { type, step, value, note };
}

// The free texts of a change, each with the field it was typed in: what the personal-data guard reads (as the
// server does: the note, and a free-text answer).
function freeTexts(form, event) {
  const texts = [];
  if (event.value_is_text && typeof event.value === "string") {
    texts.push({ field: form.querySelector("textarea[name=value]"), text: event.value });
  }
  if (event.note) texts.push({ field: form.querySelector("textarea[name=note]"), text: event.note });
  return texts;
}

// The first free text of a change that looks like it holds personal data, with the parts found; else null.
function suspectedText(form, event) {
  for (const { field, text } of freeTexts(form, event)) {
    const spans = findPersonalData(text);
    if (spans.length) return { field, text, spans };
  }
  return null;
}

function closePersonalData(form) {
  form.querySelectorAll(".personal-data.js-personal-data").forEach((box) => {
    form.querySelectorAll(`[aria-describedby~="${box.id}"]`).forEach((field) => {
      const rest = field.getAttribute("aria-describedby").split(" ").filter((id) => id && id !== box.id);
      if (rest.length) field.setAttribute("aria-describedby", rest.join(" "));
      else field.removeAttribute("aria-describedby");
    });
    box.remove();
  });
}

// Nothing is saved yet: next to the field, which parts look like personal data, in plain words, and two
// choices — rephrase (the text stays in the field), or confirm that it identifies nobody and save it so.
// Changing the text takes the question away: the next save checks the new text.
let madeChecks = 0;
function askAboutPersonalData(form, event, found) {
  closePersonalData(form);
  const { field, text, spans } = found;
  const box = document.createElement("div");
  box.className = "personal-data js-personal-data";
  box.id = `js-personal-data-${++madeChecks}`;
  box.setAttribute("role", "alert");
  const title = document.createElement("p");
  title.className = "personal-data-title";
  title.textContent = S.pd_title;
  const list = document.createElement("ul");
  list.className = "personal-data-spans";
  list.append(...spans.map((span) => {
    const item = document.createElement("li");
    const mark = document.createElement("mark");
    mark.textContent = span.text;
    item.append("“", mark, `” — ${S.pd_kinds[span.kind] || span.kind}`);
    return item;
  }));
  const rephrase = document.createElement("button");
  rephrase.type = "button";
  rephrase.className = "button-secondary";
  rephrase.dataset.role = "rephrase";
  rephrase.textContent = S.pd_rephrase;
  rephrase.addEventListener("click", () => {
    closePersonalData(form);
    // The caret goes just after the first part found, ready to rephrase it; the text is left as typed.
    const at = field.value.indexOf(text);
    field.focus();
    if (at >= 0) field.setSelectionRange(at + spans[0].end, at + spans[0].end);
  });
  const confirm = document.createElement("button");
  confirm.type = "button";
  confirm.className = "button-secondary";
  confirm.dataset.role = "confirm-text";
  confirm.textContent = S.pd_confirm;
  confirm.addEventListener("click", () => once(form, async () => {
    closePersonalData(form);
    await record({ ...event, text_confirmed: true });
  }));
  const actions = document.createElement("div");
  actions.className = "actions";
  actions.append(rephrase, confirm);
  box.append(title, list, actions);
  (field.closest(".field") || field).after(box);
  const described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  field.setAttribute("aria-describedby", [box.id, ...described].join(" "));
  field.addEventListener("input", () => closePersonalData(form), { once: true });
  box.scrollIntoView({ block: "nearest" });
}

// After an in-page change the panel that held the focused button closes: focus goes back to the step's
// toggle (now "Change"), and the change is announced with the step's number and new status.
function followWork(event) {
  const li = stepItem(event.step);
  const place = li || document.getElementById("run-notes");
  const toggle = place && place.querySelector("details.step-actions > summary");
  if (li) setToggleLabel(li);
  if (toggle) toggle.focus();
  const live = document.getElementById("run-announce");
  if (live && li) {
    const number = [...root.querySelectorAll("li.run-step")].indexOf(li) + 1;
    const status = li.querySelector("[data-role=status]").textContent.replace(S.status_prefix, "").trim();
    live.textContent = fill(S.step_status, { n: number, status }) + (li.dataset.flagged === "true" ? ` — ${S.red_flag}` : "");
  }
}

async function record(event) {
  const saved = await saveEvent(runId, { ...event, user });
  apply(saved);
  progress();
  followWork(saved);
  await showSync("saved");
  window.dispatchEvent(new Event("dnh:send"));
}

// One tap, one change: a form's buttons stay disabled from the first tap until its change is saved.
async function once(form, work) {
  if (form.dataset.saving === "true") return;
  form.dataset.saving = "true";
  const buttons = [...form.querySelectorAll("button")];
  buttons.forEach((b) => { b.disabled = true; });
  try {
    await work();
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    delete form.dataset.saving;
  }
}

// A submission tried with critical steps open: each one named and linked, as the check page lists them.
function showMissing(form) {
  const box = document.getElementById("offline-missing");
  const open = openCritical();
  if (!box) return fieldError(form, S.incomplete);
  box.querySelector("[data-role=missing-count]").textContent =
    fill(open.length === 1 ? S.missing_one : S.missing, { n: open.length });
  box.querySelector("[data-role=missing-list]").replaceChildren(...open.map((li) => {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `#step-${li.dataset.step}`;
    link.textContent = stepText(li);
    item.append(link);
    return item;
  }));
  box.hidden = false;
  box.focus();
  return undefined;
}

function hideMissing() {
  const box = document.getElementById("offline-missing");
  if (box) box.hidden = true;
}

function interceptForms() {
  root.addEventListener("submit", (e) => {
    const form = e.target;
    if (!form.matches("form.event-form")) return;
    e.preventDefault();
    once(form, async () => {
      let event;
      try { event = eventFrom(form, e.submitter); } catch (error) { fieldError(form, error.message, error.field); return; }
      clearErrors(form);
      // Before anything is saved on the phone: a text that looks like it holds personal data is asked about.
      const found = suspectedText(form, event);
      if (found) { askAboutPersonalData(form, event, found); return; }
      closePersonalData(form);
      await record(event);
    });
  });
  const submit = document.getElementById("submit-local");
  if (!submit) return;
  submit.addEventListener("submit", (e) => {
    e.preventDefault();
    once(submit, async () => {
      if (state.status === "submitted") return;  // submitted already: never a second submission
      const name = submit.elements.name.value.trim();
      if (progress()) return showMissing(submit);
      hideMissing();
      if (!name) return fieldError(submit, S.name_required, submit.elements.name);
      if (hasForbiddenCharacters(name)) return fieldError(submit, S.text_invalid, submit.elements.name);
      if (!submit.elements.confirmed.checked) return fieldError(submit, S.confirm_required, submit.elements.confirmed);
      clearErrors(submit);
      await record({ type: "run.submitted", value: { name, confirmed: true } });
    });
  });
}

// Answers of this person's that another phone's later answer replaced: what the step says now, until read.
async function showNotices() {
  let box = document.getElementById("run-notices");
  const notices = await noticesOf(runId, user);
  if (!notices.length) { if (box) box.remove(); return; }
  if (!box) {
    box = document.createElement("div");
    box.id = "run-notices";
    box.className = "notice";
    box.setAttribute("role", "status");
    document.getElementById("sync-status").after(box);
  }
  const events = await eventsOf(runId);
  for (const notice of notices) {
    if (drawnNotices.has(notice.event)) continue;
    drawnNotices.add(notice.event);
    // Show what the step says now, unless this person has answered it again since that answer was made: the
    // answer made last wins (fold.js), among this phone's answers to the step and the other phone's.
    const type = { done: "step.set", na: "step.na", todo: "step.cleared" }[notice.status];
    const answer = { id: notice.event, type, step: notice.step, value: notice.value, note: notice.note, at: notice.at,
      redacted: notice.redacted };
    const mine = events.filter((e) => e.step === notice.step && !e.error && e.id !== notice.event);
    const standing = type ? fold(protocol, [...mine, answer]).steps[notice.step] : undefined;
    if (standing && standing.event === notice.event) apply(answer);
  }
  progress();
  box.replaceChildren(...notices.map((notice) => {
    const li = stepItem(notice.step);
    const p = document.createElement("p");
    const step = li ? li.querySelector(".step-text span").textContent : notice.step;
    const now = describe(li, { done: "step.set", na: "step.na", todo: "step.cleared" }[notice.status] || "step.set",
      notice.value, notice.note, notice.redacted);
    const ok = document.createElement("button");
    ok.type = "button";
    ok.className = "button-secondary";
    ok.textContent = S.notice_ok;
    ok.addEventListener("click", async () => { await dismissNotice(notice.event); await showNotices(); });
    p.append(fill(S.changed_elsewhere, { step, time: clock(notice.at), answer: now }), " ", ok);
    return p;
  }));
}

// The latest receipt this phone keeps for the run (the server's signed word that it holds the run's first
// `seq` changes), with a link that saves it as a file for an auditor.
let receiptUrl = null;
async function showReceipt() {
  const box = document.getElementById("run-receipt");
  const receipt = box && runId ? await receiptOf(user, runId).catch(() => null) : null;
  if (!box || !receipt || box.dataset.seq === String(receipt.seq)) return;
  if (receiptUrl) URL.revokeObjectURL(receiptUrl);
  receiptUrl = URL.createObjectURL(new Blob([JSON.stringify(receipt, null, 2)], { type: "application/json" }));
  const link = document.createElement("a");
  link.className = "button button-secondary";
  link.href = receiptUrl;
  link.download = `receipt-${receipt.run}-${receipt.seq}.json`;
  link.textContent = S.save_receipt;
  box.replaceChildren(fill(receipt.seq === 1 ? S.receipt_one : S.receipt, { n: receipt.seq }), " ", link);
  box.dataset.seq = receipt.seq;
  box.hidden = false;
}

function showLocalSubmit() {
  const section = document.getElementById("offline-submit");
  const here = data.blank || !navigator.onLine;  // this page is where the run is checked and submitted
  if (section && root.dataset.editable === "true") section.hidden = !here;
  const actions = root.querySelector("[data-role=online-actions]");
  if (actions) actions.hidden = here || root.dataset.submittedHere === "true";
  if (!here) hideMissing();
}

// A run started on this phone opens at its own address once the server has it (and the signal is back).
async function moveWhenSent() {
  if (!data.blank || !runId || !navigator.onLine) return;
  // Never while the person is half-way through a change: the next send tries again.
  const busy = root.querySelector("details.step-actions[open]:not([hidden])")
    || (document.activeElement && document.activeElement.matches("textarea, input[type=text], input[type=number]"));
  if (busy) return;
  const run = await localRun(runId);
  if (run && run.sent) location.replace(`/runs/${run.id}`);
}

// The last run opened, for the "No connection" page's way back (templates/offline.html; local.js).
function rememberRun() {
  try {
    localStorage.setItem("dnh-last-run", JSON.stringify({ user, url: location.pathname + location.search }));
  } catch (error) { /* no storage: the offline page just offers "My runs" */ }
}

async function fillBlank() {
  runId = new URLSearchParams(location.search).get("run");
  const found = runId ? await localRun(runId) : null;
  const run = found && ownedBy(user)(found) ? found : null;  // another person's run is not theirs to open
  if (!run) {
    document.getElementById("sync-status").textContent = S.not_here;
    root.querySelectorAll("details.step-actions, [data-role=online-actions]").forEach((el) => { el.hidden = true; });
    return false;
  }
  if (run.sent && navigator.onLine) { location.replace(`/runs/${run.id}`); return false; }
  root.dataset.runId = run.id;
  root.querySelector("h1").textContent = run.label;
  root.dataset.mode = run.mode;
  if (run.mode === "practice") {  // the blank page is a live one: mark practice runs as the server would
    const banner = document.createElement("p");
    banner.className = "practice-banner";
    const strong = document.createElement("strong");
    strong.textContent = S.practice;
    banner.append(strong, ` — ${S.practice_note}`);
    root.prepend(banner);
  }
  document.title = `${run.label} · Do No Harm`;
  root.querySelector("[data-role=online-actions]").hidden = true;  // checking happens on this page while the run is local
  return true;
}

export async function init() {
  root = document.getElementById("run");
  data = JSON.parse(document.getElementById("run-data").textContent);
  S = data.strings;
  user = data.user;
  runId = root.dataset.runId;
  followUpPage = root.dataset.status === "follow_up";
  const live = document.createElement("p");  // what just changed, for screen readers (sync-status says if it is sent)
  Object.assign(live, { id: "run-announce", className: "visually-hidden" });
  live.setAttribute("role", "status");
  root.prepend(live);
  if (data.blank && !(await fillBlank())) return;
  for (const li of root.querySelectorAll("li.run-step")) pristine.set(li.dataset.step, li.cloneNode(true));
  const notes = document.getElementById("run-notes");
  if (notes) pristine.set("", notes.cloneNode(true));
  protocol = pageProtocol();
  drawn = pageState();
  state = copyState(drawn);
  // Texts a supervisor removed on the server: this phone's copies of them go too, before any is shown.
  if (data.redacted && data.redacted.length) await dropRemovedTexts(runId, data.redacted).catch(() => {});
  const known = new Set(data.events);
  for (const event of (await eventsOf(runId)).filter(ownedBy(user))) if (!known.has(event.id)) apply(event);
  progress();
  if (!data.blank) forgetSent(data.events).catch(() => {});
  if (root.dataset.editable === "true") interceptForms();
  showLocalSubmit();
  rememberRun();
  window.addEventListener("online", showLocalSubmit);
  window.addEventListener("offline", showLocalSubmit);
  window.addEventListener("online", () => moveWhenSent().catch(() => {}));
  await showSync(null);
  await showNotices();
  await showReceipt();
  window.addEventListener("dnh:synced", async (e) => {
    await moveWhenSent();
    await showSync(e.detail.state);
    await showNotices();
    await showReceipt();
  });
}
