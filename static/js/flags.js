// Why an answer is a red flag: the rules of donoharm/runs/flags.py (answer_reasons), for the phone offline.
// Both are checked against the same cases (tests/fixtures/flag_rules.json), so the phone and the server agree.

// rule: {expected, flagEquals: [option ids], flagAbove: number|undefined, of: step id|undefined}; value: the
// answer (a number for counts); denominator: the answer to the `of` step, if answered. Returns
// [{rule: "expected"|"equals"|"above"|"of", ...}] in the server's order.
export function answerReasons(rule, value, denominator) {
  const reasons = [];
  if (value === undefined || value === null) return reasons;
  const counted = Number.isInteger(value);
  if (rule.expected && value !== rule.expected) reasons.push({ rule: "expected", expected: rule.expected });
  if ((rule.flagEquals || []).includes(value)) reasons.push({ rule: "equals", value });
  if (counted && rule.flagAbove !== undefined && rule.flagAbove !== null && value > rule.flagAbove) {
    reasons.push({ rule: "above", limit: rule.flagAbove });
  }
  if (counted && rule.of && Number.isInteger(denominator) && value > denominator) {
    reasons.push({ rule: "of", of: rule.of, limit: denominator });
  }
  return reasons;
}
