"""The accompanier's side of harm signals, without JavaScript: red flags on the run page (each step and the
header count), the check page listing them first, follow-ups after approval, and the follow-ups due at home."""
from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime, timedelta

import lxml.html

from tests.conftest import csrf_from, event, expected_answer

SIGNALS = ("signals-test", "1.0.0")
EXPECTED_REASON = "The protocol expects the answer “Yes”."


def at(hours_ago: float = 0) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat()


def text_of(node) -> str:
    return re.sub(r"\s+", " ", node.text_content()).strip()


def page(who, path):
    response = who.get(path)
    assert response.status_code == 200, response.status_code
    return lxml.html.fromstring(response.get_data(as_text=True))


def step(tree, step_id):
    found = tree.xpath(f'//li[@id="step-{step_id}"]')
    assert found, f"no step {step_id}"
    return found[0]


def flag_box(item):
    return item.xpath('.//*[@data-role="flag"]')[0]


def header(tree):
    return tree.xpath('//*[@data-role="flags"]')[0]


def start(acc, label="OP-TEST-001"):
    return acc.start_run(protocol_id=SIGNALS[0], version=SIGNALS[1], label=label)


def send(who, run_id, *events):
    response = who.send(run_id, *events)
    assert response.status_code == 200, response.get_json()


def approved_run(api, protocol, label="OP-TEST-001", hours_ago: float = 0):
    """A signals-test run answered flag-free outside its follow-up, submitted `hours_ago` hours ago (device
    time) and approved by a supervisor: in follow_up."""
    acc, sup = api("acc"), api("sup")
    run_id = start(acc, label)
    answers = [event("step.set", s.id, expected_answer(s), at=at(hours_ago)) for s in protocol.steps if not s.follow_up]
    send(acc, run_id, *answers, event("run.submitted", value={"name": "Test Accompanier", "confirmed": True},
                                      at=at(hours_ago)))
    send(sup, run_id, event("review.approved", value={"acknowledged": []}))
    return acc, run_id


def post_form(who, run_id, type_, step_id="", value=None, note=None):
    data = {"csrf_token": csrf_from(who.client, f"/runs/{run_id}"), "type": type_, "step": step_id}
    if value is not None:
        data["value"] = value
    if note is not None:
        data["note"] = note
    return who.client.post(f"/runs/{run_id}/events", data=data)


def test_an_unexpected_answer_is_flagged_on_its_step_and_counted_in_the_header(api, signals_protocol):
    acc = api("acc")
    run_id = start(acc)
    send(acc, run_id, event("step.set", "family-contact-safe", "no"), event("step.set", "placement", "shelter"))
    tree = page(acc, f"/runs/{run_id}")

    flagged = step(tree, "family-contact-safe")
    assert flagged.get("data-flagged") == "true"
    box = flag_box(flagged)
    assert box.get("hidden") is None
    assert "Red flag" in text_of(box)  # in words, not by colour alone
    assert [text_of(li) for li in box.xpath('.//ul[@data-role="flag-reasons"]/li')] == [EXPECTED_REASON]

    calm = step(tree, "placement")
    assert calm.get("data-flagged") is None and flag_box(calm).get("hidden") is not None

    count = header(tree)
    assert count.get("hidden") is None
    assert "Red flags: 1" in text_of(count)
    assert count.xpath('.//a[@data-role="first-flag"]')[0].get("href") == "#step-family-contact-safe"

    # A deviation is a red flag too, counted in the header (and marked on its step).
    send(acc, run_id, event("deviation", "placement", note="The van came an hour late."))
    tree = page(acc, f"/runs/{run_id}")
    assert "Red flags: 2" in text_of(header(tree))
    assert [text_of(li) for li in step(tree, "placement").xpath('.//ul[@data-role="flag-reasons"]/li')] == [
        "A deviation from the protocol was recorded."]
    # Counted per flag, not per step: a deviation on the flagged step adds one; its reasons say both, once each.
    send(acc, run_id, event("deviation", "family-contact-safe", note="Asked before the assessment."),
         event("deviation", "family-contact-safe", note="Asked again."))
    tree = page(acc, f"/runs/{run_id}")
    assert "Red flags: 4" in text_of(header(tree))
    assert [text_of(li) for li in step(tree, "family-contact-safe").xpath('.//ul[@data-role="flag-reasons"]/li')] == [
        EXPECTED_REASON, "A deviation from the protocol was recorded."]


def test_no_red_flags_no_count_in_the_header(api, signals_protocol):
    acc = api("acc")
    run_id = start(acc)
    send(acc, run_id, event("step.set", "family-contact-safe", "yes"))
    tree = page(acc, f"/runs/{run_id}")
    assert header(tree).get("hidden") is not None
    assert step(tree, "family-contact-safe").get("data-flagged") is None


def test_each_step_carries_the_rules_the_phone_judges_answers_by(api, signals_protocol):
    acc = api("acc")
    run_id = start(acc)
    send(acc, run_id, event("step.set", "people-present", 10), event("step.set", "placement", "police-cell"))
    tree = page(acc, f"/runs/{run_id}")
    assert step(tree, "family-contact-safe").get("data-expected") == "yes"
    assert step(tree, "placement").get("data-flag-equals") == "police-cell"
    assert step(tree, "placement").get("data-value") == "police-cell"
    assert step(tree, "victims-arrested").get("data-flag-above") == "0"
    assert step(tree, "victims-arrested").get("data-of") == "people-present"
    assert step(tree, "people-present").get("data-value") == "10"
    assert step(tree, "no-removal-72h").get("data-follow-up") == "true"
    assert step(tree, "placement").get("data-flagged") == "true"


def test_a_count_of_another_reads_x_of_n_and_is_flagged_above_it(api, signals_protocol):
    acc = api("acc")
    run_id = start(acc)
    send(acc, run_id, event("step.set", "people-present", 10), event("step.set", "screened-in-private", 4),
         event("step.set", "victims-arrested", 12))
    tree = page(acc, f"/runs/{run_id}")
    screened = step(tree, "screened-in-private")
    assert text_of(screened.xpath('.//*[@data-role="answer"]')[0]) == "4 of 10"
    assert screened.get("data-flagged") is None
    arrested = step(tree, "victims-arrested")
    assert text_of(arrested.xpath('.//*[@data-role="answer"]')[0]) == "12 of 10"
    assert [text_of(li) for li in arrested.xpath('.//ul[@data-role="flag-reasons"]/li')] == [
        "The protocol marks any number above 0 as a red flag.",
        "More than the 10 counted for “How many people were present?”."]
    assert "Red flags: 1" in text_of(header(tree))  # one flagged answer, however many reasons


def test_check_page_lists_the_red_flags_first_with_the_sentence(api, signals_protocol):
    acc = api("acc")
    run_id = start(acc)
    send(acc, run_id, event("step.set", "family-contact-safe", "no"),
         event("deviation", None, note="The operation started before the briefing."))
    html = acc.get(f"/runs/{run_id}/check").get_data(as_text=True)
    tree = lxml.html.fromstring(html)
    flags = tree.xpath('//section[@id="red-flags"]')[0]
    assert "Red flags: 2" in text_of(flags.xpath(".//h2")[0])
    assert "These answers will be flagged to your supervisor." in text_of(flags)
    links = [(a.get("href"), text_of(a)) for a in flags.xpath('.//ul[@data-role="flag-list"]/li/a')]
    assert links == [(f"/runs/{run_id}#step-family-contact-safe", "Was family contacted only after a risk assessment?"),
                     (f"/runs/{run_id}#run-notes", "The whole operation")]
    assert EXPECTED_REASON in text_of(flags)
    # First: before the critical steps still open and before every answer.
    assert html.index('id="red-flags"') < html.index('id="missing"') < html.index('id="answer-family-contact-safe"')


def test_the_offline_submit_form_lists_the_same_red_flags(api, signals_protocol):
    acc = api("acc")
    run_id = start(acc)
    send(acc, run_id, event("step.set", "placement", "police-cell"))
    summary = page(acc, f"/runs/{run_id}").xpath('//section[@id="offline-submit"]//*[@data-role="flag-summary"]')[0]
    assert summary.get("hidden") is None
    assert "Red flags: 1" in text_of(summary)
    assert "These answers will be flagged to your supervisor." in text_of(summary)
    assert [a.get("href") for a in summary.xpath(".//a")] == ["#step-placement"]


def test_after_approval_only_follow_up_steps_can_be_answered(api, signals_protocol):
    acc, run_id = approved_run(api, signals_protocol)
    tree = page(acc, f"/runs/{run_id}")
    assert text_of(tree.xpath('//*[@data-role="run-status"]')[0]) == "Approved, follow-up due"
    with_forms = [li.get("data-step") for li in tree.xpath('//li[contains(@class, "run-step")]')
                  if li.xpath('.//details[contains(@class, "step-actions")]')]
    assert with_forms == ["no-removal-72h", "services-reachable"]
    assert not tree.xpath('//form[.//input[@name="type"][@value="step.cleared"]]')  # refused after approval
    assert not tree.xpath('//section[@id="run-notes"]//form')  # no deviation or note for the whole operation
    assert not tree.xpath('//section[@id="offline-submit"]')  # nothing to submit again
    assert "Check your answers and submit" not in text_of(tree)
    notice = tree.xpath('//section[@id="follow-up"]')[0]
    due = datetime.fromisoformat(acc.get(f"/api/v1/runs/{run_id}").get_json()["state"]["follow_ups"][0]["due_at"]
                                 .replace("Z", "+00:00"))
    assert "Follow-up: Follow-up due" in text_of(notice)
    assert str(due.year) in text_of(notice) and "Overdue" not in text_of(notice)

    # Answering a step outside the follow-up is refused (the forms are not there; a stale one is told why).
    refused = post_form(acc, run_id, "step.set", "placement", "police-cell")
    assert refused.status_code == 422
    assert "only its follow-up steps can still be answered" in html_lib.unescape(refused.get_data(as_text=True))

    assert post_form(acc, run_id, "step.set", "no-removal-72h", "no").status_code == 302
    tree = page(acc, f"/runs/{run_id}")
    assert text_of(tree.xpath('//*[@data-role="run-status"]')[0]) == "Approved, follow-up due"
    assert post_form(acc, run_id, "step.set", "services-reachable").status_code == 302
    tree = page(acc, f"/runs/{run_id}")
    assert text_of(tree.xpath('//*[@data-role="run-status"]')[0]) == "Closed: follow-up done"
    assert not tree.xpath('//details[contains(@class, "step-actions")]')
    assert not tree.xpath('//section[@id="follow-up"]')


def test_an_overdue_follow_up_is_marked_on_the_run_page(api, signals_protocol):
    acc, run_id = approved_run(api, signals_protocol, hours_ago=100)  # due 72 h after: 28 h ago
    notice = page(acc, f"/runs/{run_id}").xpath('//section[@id="follow-up"]')[0]
    assert "Overdue" in text_of(notice)


def test_home_lists_the_follow_ups_due_overdue_ones_marked(api, signals_protocol):
    acc, late = approved_run(api, signals_protocol, label="OP-TEST-LATE-1", hours_ago=100)
    _acc, soon = approved_run(api, signals_protocol, label="OP-TEST-SOON-1", hours_ago=1)
    closed = approved_run(api, signals_protocol, label="OP-TEST-DONE-1", hours_ago=2)[1]
    send(acc, closed, event("step.set", "no-removal-72h", "no"), event("step.set", "services-reachable", True))
    tree = page(acc, "/")
    due = tree.xpath('//section[@aria-labelledby="h-follow-ups"]')[0]
    assert text_of(due.xpath(".//h2")[0]) == "2 follow-ups due"
    rows = due.xpath(".//li")
    assert [text_of(li.xpath("./a")[0]) for li in rows] == ["OP-TEST-LATE-1", "OP-TEST-SOON-1"]  # earliest due first
    assert rows[0].xpath("./a")[0].get("href") == f"/runs/{late}#follow-up"
    assert "Follow-up: Follow-up due" in text_of(rows[0]) and "Overdue" in text_of(rows[0])
    assert "overdue" in rows[0].get("class", "")
    assert "Overdue" not in text_of(rows[1])
    # The status groups: follow-up due and closed, in the status words of every page.
    assert text_of(tree.xpath('//h2[@id="h-follow_up"]')[0]) == "Approved, follow-up due (2)"
    assert text_of(tree.xpath('//h2[@id="h-closed"]')[0]) == "Closed: follow-up done (1)"


def test_the_check_page_of_a_follow_up_run_offers_no_submission(api, signals_protocol):
    acc, run_id = approved_run(api, signals_protocol)
    tree = page(acc, f"/runs/{run_id}/check")
    assert not tree.xpath('//form[@id="submit-run"]')
    assert "Approved, follow-up due" in text_of(tree.xpath('//p[@class="run-status"]')[0])
    assert "This run was submitted." in text_of(tree)
