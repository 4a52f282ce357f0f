// The phone's text rules (static/js/text.js), which stop a change offline that the server would refuse later.
import { test } from "node:test";
import assert from "node:assert/strict";
import { hasForbiddenCharacters, timeOfDay } from "../../static/js/text.js";

test("ordinary text in any script is allowed", () => {
  for (const text of ["Synthetic note.", "ការកត់ត្រា", "บันทึก", "Ünïcödé — “quotes” 42 %", "emoji 🙂"]) {
    assert.equal(hasForbiddenCharacters(text), false, text);
    assert.equal(hasForbiddenCharacters(text, true), false, text);
  }
});

test("a line break is refused in a one-line text and kept in a note", () => {
  for (const text of ["two\nlines", "two\r\nlines"]) {
    assert.equal(hasForbiddenCharacters(text), true, JSON.stringify(text));
    assert.equal(hasForbiddenCharacters(text, true), false, JSON.stringify(text));
  }
  assert.equal(hasForbiddenCharacters("tab\there"), true, "a tab is a control character, as on the server");
  assert.equal(hasForbiddenCharacters("tab\there", true), true, "a tab is a control character, as on the server");
});

test("control and text-direction characters are refused everywhere", () => {
  const bad = ["nul\u0000", "bell\u0007", "lone\rreturn", "del\u007f", "c1\u0085", "rlo\u202eevil", "isolate\u2066x",
    "mark\u200f", "alm\u061c", "line\u2028sep", "para\u2029sep", "half\ud800"];
  for (const text of bad) assert.equal(hasForbiddenCharacters(text, true), true, JSON.stringify(text));
  for (const text of bad) assert.equal(hasForbiddenCharacters(text), true, JSON.stringify(text));
});

test("times on the 24-hour clock are read in the ways people type them", () => {
  const read = { "21:30": "21:30", "2130": "21:30", "9:05": "09:05", "21.30": "21:30", "21h30": "21:30",
    " 07:45 ": "07:45", "0:00": "00:00", "23:59": "23:59", "930": "09:30" };
  for (const [typed, time] of Object.entries(read)) assert.equal(timeOfDay(typed), time, typed);
});

test("times that are not on the 24-hour clock are refused, never guessed", () => {
  for (const typed of ["9:30 pm", "24:00", "12:60", "2400", "21:3", "", null, undefined, "noon", "21:30:00"]) {
    assert.equal(timeOfDay(typed), null, String(typed));
  }
});
