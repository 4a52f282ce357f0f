// The run screen with JavaScript: every answer is saved on this phone first and shown at once,
// then sent by the outbox. Pages for runs started offline are blank copies filled in from local events.
import { discardRefused, eventsOf, forgetSent, localRun, pending, saveEvent } from "./outbox.js";
import { hasForbiddenCharacters } from "./text.js";

let root, data, S, runId;

const fill = (template, values) => Object.entries(values).reduce((t, [k, v]) => t.replaceAll(`{${k}}`, v), template);
const clock = (iso) => (iso ? new Date(iso).toTimeString().slice(0, 5) : "");
const stepItem = (step) => (step ? root.querySelector(`li.run-step[data-step="${CSS.escape(step)}"]`) : null);

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

function answerText(li, value) {
  const kind = li.dataset.kind;
  if (kind === "check") return S.done_answer;
  if (kind === "yesno") return value === "yes" ? S.yes : S.no;
  if (kind === "choice") {
    const label = li.querySelector(`label[for="v-${CSS.escape(li.dataset.step)}-${CSS.escape(value)}"]`);
    return label ? label.textContent : value;
  }
  return String(value);
}

function setAnswer(li, className, node) {
  const record = li.querySelector("[data-role=record]");
  record.querySelectorAll("p.answer").forEach((p) => p.remove());
  if (node) { node.classList.add(className); record.prepend(node); }
}

function closeForms(li) {
  li.querySelectorAll("details[open]").forEach((d) => { d.open = false; });
  li.querySelectorAll("textarea").forEach((t) => { t.value = ""; });
}

// Show one event on the page, as the server's page would after folding it.
function apply(event) {
  const li = stepItem(event.step);
  if (event.type === "step.set" && li) {
    li.dataset.status = "done";
    setAnswer(li, "answer", para("answer", S.answer, answerText(li, event.value), event.at));
  } else if (event.type === "step.cleared" && li) {
    li.dataset.status = "todo";
    setAnswer(li, "answer", null);
  } else if (event.type === "step.na" && li) {
    li.dataset.status = "na";
    setAnswer(li, "answer", para("answer", S.na_prefix, event.note, event.at));
  } else if (event.type === "deviation" || event.type === "note") {
    const deviation = event.type === "deviation";
    const node = para(deviation ? "deviation-note" : "step-note", deviation ? S.deviation_prefix : S.note_prefix,
      event.note, event.at);
    if (li) {
      li.querySelector("[data-role=record]").append(node);
      if (deviation) li.dataset.deviated = "true";
    } else {
      const notes = document.getElementById("run-notes");
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
  }
  if (li) { setTag(li); closeForms(li); }
}

function progress() {
  const steps = [...root.querySelectorAll("li.run-step")];
  for (const li of steps) if (li.querySelector(".tag-deviation")) li.dataset.deviated = "true";
  const count = (status) => steps.filter((li) => li.dataset.status === status).length;
  const missing = steps.filter((li) => li.dataset.critical === "true" && li.dataset.status === "todo"
    && li.dataset.deviated !== "true").length;
  const line = root.querySelector("[data-role=progress]");
  line.textContent = fill(S.progress, { done: count("done"), total: steps.length, na: count("na") });
  if (missing) {
    const strong = document.createElement("strong");
    strong.textContent = fill(missing === 1 ? S.critical_one : S.critical_other, { n: missing });
    line.append(" ", strong);
  }
  return missing;
}

// The line under the status: saved on this phone, all sent, refused, or signed out.
async function showSync(state) {
  const box = document.getElementById("sync-status");
  const { runs, events } = await pending();
  const mine = [...runs.filter((r) => r.id === runId), ...events.filter((e) => e.run === runId)];
  const refused = mine.find((x) => x.error);
  box.replaceChildren();
  if (refused) {
    box.dataset.state = "error";
    box.textContent = fill(S.refused, { reason: refused.error });
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
      window.dispatchEvent(new Event("dnh:send"));  // the changes after it were waiting on it
      location.reload();  // the screen is rebuilt from the server's answers and the changes still kept
    });
    button.replaceWith(question, yes);
    yes.focus();
  });
  return button;
}

// Shown like the server's field errors, announced at once.
export function fieldError(form, message) {
  let error = form.querySelector(".error-message.js-error");
  if (!error) {
    error = document.createElement("p");
    error.className = "error-message js-error";
    error.setAttribute("role", "alert");
    form.querySelector("button[type=submit]").before(error);
  }
  error.textContent = message;
}

// Turn a step form into an event, or explain what is missing (the same rules as the server).
function eventFrom(form, submitter) {
  const fields = new FormData(form);
  if (submitter && submitter.name) fields.set(submitter.name, submitter.value);
  const type = fields.get("type");
  const step = fields.get("step") || null;
  const note = String(fields.get("note") || "").trim() || null;
  let value = null;
  if (type === "step.set") {
    const kind = stepItem(step).dataset.kind;
    const raw = String(fields.get("value") || "").trim();
    if (kind === "check") value = true;
    else if (kind === "count") {
      if (!/^\d+$/.test(raw)) throw new Error(S.count_invalid);
      value = Number(raw);
    } else if (!raw) throw new Error(S.value_required);
    else value = raw;
    if (typeof value === "string" && hasForbiddenCharacters(value, true)) throw new Error(S.text_invalid);
  }
  if (note && hasForbiddenCharacters(note, true)) throw new Error(S.text_invalid);
  if (type === "step.na" && !note) throw new Error(S.reason_required);
  if (type === "deviation" && !note) throw new Error(S.note_required);
  return { type, step, value, note };
}

async function record(event) {
  const saved = await saveEvent(runId, { ...event, user: data.user });
  apply(saved);
  progress();
  await showSync("saved");
  window.dispatchEvent(new Event("dnh:send"));
}

function interceptForms() {
  root.addEventListener("submit", async (e) => {
    const form = e.target;
    if (!form.matches("form.event-form")) return;
    e.preventDefault();
    let event;
    try { event = eventFrom(form, e.submitter); } catch (error) { fieldError(form, error.message); return; }
    form.querySelectorAll(".js-error").forEach((el) => el.remove());
    await record(event);
  });
  const submit = document.getElementById("submit-local");
  if (!submit) return;
  submit.addEventListener("submit", async (e) => {
    e.preventDefault();
    const name = submit.elements.name.value.trim();
    if (progress()) return fieldError(submit, S.incomplete);
    if (!name) return fieldError(submit, S.name_required);
    if (hasForbiddenCharacters(name)) return fieldError(submit, S.text_invalid);
    if (!submit.elements.confirmed.checked) return fieldError(submit, S.confirm_required);
    await record({ type: "run.submitted", value: { name, confirmed: true } });
  });
}

function showLocalSubmit() {
  const section = document.getElementById("offline-submit");
  if (section && root.dataset.editable === "true") section.hidden = !(data.blank || !navigator.onLine);
}

async function fillBlank() {
  runId = new URLSearchParams(location.search).get("run");
  const run = runId ? await localRun(runId) : null;
  if (!run) {
    document.getElementById("sync-status").textContent = S.not_here;
    root.querySelectorAll("details.step-actions, .actions").forEach((el) => { el.hidden = true; });
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
  root.querySelector(".actions").hidden = true;  // checking happens on this page while the run is local
  return true;
}

export async function init() {
  root = document.getElementById("run");
  data = JSON.parse(document.getElementById("run-data").textContent);
  S = data.strings;
  runId = root.dataset.runId;
  if (data.blank && !(await fillBlank())) return;
  const known = new Set(data.events);
  for (const event of await eventsOf(runId)) if (!known.has(event.id)) apply(event);
  progress();
  if (!data.blank) forgetSent(data.events).catch(() => {});
  if (root.dataset.editable === "true") interceptForms();
  showLocalSubmit();
  window.addEventListener("online", showLocalSubmit);
  window.addEventListener("offline", showLocalSubmit);
  await showSync(null);
  window.addEventListener("dnh:synced", (e) => showSync(e.detail.state));
}
