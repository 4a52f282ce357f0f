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
