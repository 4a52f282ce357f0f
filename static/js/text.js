// The server's text rule (donoharm/text.py), checked on the phone before a change is saved, so that a
// change made offline is not refused later when it is sent: one-line text (a label, a name) is printable
// characters only; multi-line text (a note, a reason) may also hold line breaks.
const BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069";
const IN_LINE = new RegExp(`[\\u0000-\\u001f\\u007f-\\u009f${BIDI}\\u2028\\u2029]|\\p{Surrogate}`, "u");
const IN_TEXT = new RegExp(`\\r(?!\\n)|[\\u0000-\\u0009\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f${BIDI}\\u2028\\u2029]|\\p{Surrogate}`, "u");

// True when the server would refuse this text.
export function hasForbiddenCharacters(value, multiline = false) {
  return (multiline ? IN_TEXT : IN_LINE).test(String(value));
}

// A time typed on the 24-hour clock as "HH:MM" ("21:30", "2130", "9:05", "21.30", "21h30"), or null:
// the same reading as donoharm/text.py's time_of_day. "9:30 pm" and the like are refused, never guessed.
export function timeOfDay(raw) {
  const match = /^([01]?[0-9]|2[0-3])[:.h]?([0-5][0-9])$/.exec(String(raw || "").trim());
  return match ? `${match[1].padStart(2, "0")}:${match[2]}` : null;
}
