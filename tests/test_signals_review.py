"""The supervisor's side of harm signals: red flags in the queue and on the review page, acknowledging every
one before approving (pages and API), what changed since a return, and follow-ups on the supervisor's home."""
from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import event, expected_answer, login
from tests.test_review import form_token, status_of

SIGNALS = ("signals-test", "1.0.0")


def at(days_ago: float = 0) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


def answers(protocol, days_ago: float = 0, **changed):
    """step.set events for every step outside the follow-up, with `changed` answers instead of flag-free ones."""
    return [event("step.set", s.id, changed.get(s.id.replace("-", "_"), expected_answer(s)), at=at(days_ago))
            for s in protocol.steps if not s.follow_up]


def submitted_signals_run(who, protocol, label, days_ago: float = 0, deviation: str | None = None, **changed):
    """A signals-test run answered outside its follow-up (with `changed` answers), maybe a deviation, submitted
    `days_ago` days ago (by device time)."""
    run_id = who.start_run(protocol_id=SIGNALS[0], version=SIGNALS[1], label=label)
    events = answers(protocol, days_ago, **changed)
    if deviation:
        events.append(event("deviation", "placement", note=deviation, at=at(days_ago)))
    events.append(event("run.submitted", value={"name": "Test Accompanier", "confirmed": True}, at=at(days_ago)))
    response = who.send(run_id, *events)
    assert response.status_code == 200, response.get_json()
    return run_id


def flag_ids(who, run_id):
    return [flag["id"] for flag in who.get(f"/api/v1/runs/{run_id}").get_json()["state"]["red_flags"]]


def approve_via_api(sup, run_id, acknowledged):
    return sup.send(run_id, event("review.approved", value={"acknowledged": list(acknowledged)}))


def text_of(html: str) -> str:
    """A page's text with tags removed and whitespace collapsed, to read sentences across markup."""
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def section(html: str, section_id: str) -> str:
    match = re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, re.S)
    assert match, f"no section {section_id}"
    return match.group(0)


def cards(html: str) -> dict[str, str]:
    """The queue's cards by operation label."""
    found = {}
    for card in re.findall(r'<li class="card">.*?</li>', html, re.S):
        label = re.search(r'<h2 class="h3"><a [^>]*>([^<]+)</a>', card).group(1)
        found[label] = card
    return found


def flag_figure(card: str) -> str:
    return text_of(re.search(r'<div class="flag-figure">.*?</div>', card, re.S).group(0))


def test_queue_shows_red_flags_and_sorts_by_them(app, api, client, signals_protocol):
    acc = api("acc")
    submitted_signals_run(acc, signals_protocol, "OP-TEST-FEW-1", days_ago=2, placement="police-cell")
    submitted_signals_run(acc, signals_protocol, "OP-TEST-MANY-1", days_ago=1, family_contact_safe="no",
                          victims_arrested=2, deviation="The shelter van arrived an hour late.")
    submitted_signals_run(acc, signals_protocol, "OP-TEST-NONE-1")
    login(client, "sup")
    waiting = client.get("/review").get_data(as_text=True)
    assert list(cards(waiting)) == ["OP-TEST-FEW-1", "OP-TEST-MANY-1", "OP-TEST-NONE-1"]  # longest waiting first
    assert flag_figure(cards(waiting)["OP-TEST-FEW-1"]) == "Red flags 1"
    assert flag_figure(cards(waiting)["OP-TEST-MANY-1"]) == "Red flags 3"
    assert flag_figure(cards(waiting)["OP-TEST-NONE-1"]) == "Red flags 0"
    by_flags = client.get("/review?sort=flags")
    assert by_flags.status_code == 200
    assert list(cards(by_flags.get_data(as_text=True))) == ["OP-TEST-MANY-1", "OP-TEST-FEW-1", "OP-TEST-NONE-1"]
    assert "Most red flags first" in text_of(by_flags.get_data(as_text=True))


def test_label_search_filters_and_bad_values_are_errors(app, api, client, signals_protocol):
    # An organisation's own label pattern may allow % (the default does not): the search reads it as a letter.
    app.config["LABEL_PATTERN"] = r"[A-Z0-9%\-]+"
    acc = api("acc")
    for label in ("OP-TEST-NORTH-1", "OP-TEST-SOUTH-1", "OP-TEST-50%"):
        submitted_signals_run(acc, signals_protocol, label)
    login(client, "sup")
    assert list(cards(client.get("/review?label=north").get_data(as_text=True))) == ["OP-TEST-NORTH-1"]
    assert list(cards(client.get("/review?label=op-test-so").get_data(as_text=True))) == ["OP-TEST-SOUTH-1"]
    assert len(cards(client.get("/review?label=OP-TEST").get_data(as_text=True))) == 3
    # The user's % and _ are letters, not wildcards.
    assert list(cards(client.get("/review?label=50%25").get_data(as_text=True))) == ["OP-TEST-50%"]
    assert list(cards(client.get("/review?label=OP_TEST").get_data(as_text=True))) == []
    assert list(cards(client.get("/review?label=%25").get_data(as_text=True))) == ["OP-TEST-50%"]
    # Combined with the other filters.
    assert list(cards(client.get("/review?label=north&status=returned").get_data(as_text=True))) == []

    bad = client.get("/review?sort=loudest&label=north")
    page = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "Choose an order from the list." in page
    assert 'href="#f-sort"' in page and page.count('id="error-summary"') == 1
    assert 'value="north"' in page  # nothing typed is lost
    assert list(cards(page)) == ["OP-TEST-NORTH-1"]  # the valid filters still apply
    too_long = client.get("/review?label=" + "X" * 81)
    assert too_long.status_code == 400 and "Search with at most 80 characters." in too_long.get_data(as_text=True)
    assert 'value="' + "X" * 81 + '"' in too_long.get_data(as_text=True)


def test_review_page_lists_each_red_flag_with_its_reasons(app, api, client, signals_protocol):
    acc = api("acc")
    run_id = submitted_signals_run(acc, signals_protocol, "OP-TEST-FLAGS-1", family_contact_safe="no",
                                   victims_arrested=2, placement="police-cell",
                                   deviation="The shelter van arrived an hour late.")
    login(client, "sup")
    page = client.get(f"/review/{run_id}").get_data(as_text=True)
    flags = section(page, "red-flags")
    words = text_of(flags)
    assert "Red flags: 4" in words
    items = [text_of(item) for item in re.findall(r'<li class="red-flag".*?</li>\s*</ul>', flags, re.S)]
    assert any("Was family contacted only after a risk assessment? · Answer: No" in i
               and "The protocol expects the answer “Yes”." in i for i in items), items
    assert any("Where were people placed? · Answer: Police cell" in i
               and "The protocol marks this answer as a red flag." in i for i in items), items
    assert any("How many people with signs of trafficking were arrested? · Answer: 2" in i
               and "The protocol marks any number above 0 as a red flag." in i for i in items), items
    assert any("Deviation · Where were people placed?: The shelter van arrived an hour late." in i
               and "A deviation from the protocol was recorded." in i for i in items), items
    # One checkbox per flag, bound to the approve form, its value the flag's id.
    boxes = re.findall(r'<input[^>]*name="approve-acknowledged"[^>]*>', flags)
    assert sorted(re.search(r'value="([^"]+)"', b).group(1) for b in boxes) == sorted(flag_ids(acc, run_id))
    assert all('form="approve-run"' in b for b in boxes)
    assert f'<p id="current-record"><a href="/runs/{run_id}/record.pdf">' in page  # the current signed record


def test_page_approval_needs_every_red_flag_ticked_and_keeps_what_was_typed(app, api, client, signals_protocol):
    acc = api("acc")
    run_id = submitted_signals_run(acc, signals_protocol, "OP-TEST-TICK-1", family_contact_safe="no",
                                   placement="police-cell", deviation="The shelter van arrived an hour late.")
    ids = flag_ids(acc, run_id)
    assert len(ids) == 3
    login(client, "sup")
    token = form_token(client, f"/review/{run_id}", "approve-run")
    refused = client.post(f"/review/{run_id}/approve", data={
        "approve-csrf_token": token, "approve-comment": "Checked the placement with the team lead.",
        "approve-acknowledged": [ids[0]]})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert status_of(acc, run_id) == "submitted"
    assert "Acknowledge every red flag before approving" in page and 'href="#approve-acknowledged"' in page
    missing = text_of(re.search(r'<div id="unacknowledged-flags">.*?</div>', page, re.S).group(0))
    assert "2 red flags are not acknowledged yet:" in missing
    assert "Where were people placed? · Answer: Police cell" in missing
    assert "The shelter van arrived an hour late." in missing
    assert "Was family contacted" not in missing  # the one ticked
    assert "Checked the placement with the team lead.</textarea>" in page  # the comment stays
    ticked = re.search(rf'<input[^>]*value="{ids[0]}"[^>]*>', page).group(0)
    assert "checked" in ticked  # and so does the tick
    assert all("checked" not in re.search(rf'<input[^>]*value="{i}"[^>]*>', page).group(0) for i in ids[1:])

    approved = client.post(f"/review/{run_id}/approve", data={
        "approve-csrf_token": token, "approve-comment": "Checked the placement with the team lead.",
        "approve-acknowledged": ids})
    assert approved.status_code == 302
    body = acc.get(f"/api/v1/runs/{run_id}").get_json()
    assert body["run"]["status"] == "follow_up"
    assert sorted(body["state"]["reviews"][-1]["acknowledged"]) == sorted(ids)
    after = client.get(f"/review/{run_id}").get_data(as_text=True)
    assert text_of(section(after, "red-flags")).count("Acknowledged by sup") == 3
    assert 'name="approve-acknowledged"' not in after


def test_api_approval_without_acknowledgements_is_422_with_the_flags(app, api, signals_protocol):
    acc, sup = api("acc"), api("sup")
    run_id = submitted_signals_run(acc, signals_protocol, "OP-TEST-API-1", victims_arrested=1,
                                   deviation="The shelter van arrived an hour late.")
    ids = flag_ids(acc, run_id)
    refused = approve_via_api(sup, run_id, [])
    error = refused.get_json()["error"]
    assert refused.status_code == 422 and error["code"] == "red_flags_unacknowledged"
    assert [f["id"] for f in error["details"]["flags"]] == ids
    assert {f["kind"] for f in error["details"]["flags"]} == {"answer", "deviation"}
    answer_flag = next(f for f in error["details"]["flags"] if f["kind"] == "answer")
    assert answer_flag["step"] == "victims-arrested" and answer_flag["reasons"][0]["rule"] == "above"
    partly = approve_via_api(sup, run_id, ids[:1]).get_json()["error"]
    assert [f["id"] for f in partly["details"]["flags"]] == ids[1:]
    assert status_of(acc, run_id) == "submitted"
    assert approve_via_api(sup, run_id, ids).status_code == 200
    # After approval only the follow-up steps can change: anything else is a 409.
    other = acc.send(run_id, event("note", "placement", note="One more thing about the placement."))
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "follow_up_only"


def test_review_page_lists_what_changed_since_the_return(app, api, client, signals_protocol):
    acc, sup = api("acc"), api("sup")
    run_id = submitted_signals_run(acc, signals_protocol, "OP-TEST-RETURN-1", placement="police-cell")
    returned = sup.send(run_id, event("review.returned", note="Say where people were placed in the end."))
    assert returned.status_code == 200
    assert acc.send(run_id, event("step.set", "placement", "shelter"),
                    event("note", "placement", note="Moved to the shelter once a bed was free."),
                    event("step.set", "victims-arrested", 1),
                    event("run.submitted", value={"name": "Test Accompanier", "confirmed": True})).status_code == 200
    login(client, "sup2")
    page = client.get(f"/review/{run_id}").get_data(as_text=True)
    changes = section(page, "changes-since-return")
    items = [text_of(item) for item in re.findall(r"<li>.*?</li>", changes, re.S)]
    assert "What changed since it was returned" in text_of(changes)
    assert "Say where people were placed in the end." in text_of(changes)
    assert len(items) == 4, items  # only what came after the return
    assert items[0].startswith("Answered · Where were people placed?: Shelter (before: Police cell)")
    assert items[1].startswith("Note added · Where were people placed? Moved to the shelter once a bed was free.")
    assert items[2].startswith("Answered · How many people with signs of trafficking were arrested?: 1 "
                               "(before: 0) Red flag")
    assert items[3].startswith("Submitted again")
    assert all("acc" in item for item in items)
    # Before a return there is no such section.
    first = submitted_signals_run(acc, signals_protocol, "OP-TEST-FIRST-1")
    assert 'id="changes-since-return"' not in client.get(f"/review/{first}").get_data(as_text=True)


def test_supervisor_home_lists_overdue_follow_ups_and_follow_up_flags(app, api, client, signals_protocol):
    acc, sup = api("acc"), api("sup")
    # Submitted four days ago: its 72-hour follow-up is a day overdue once approved.
    late = submitted_signals_run(acc, signals_protocol, "OP-TEST-LATE-1", days_ago=4)
    assert approve_via_api(sup, late, []).status_code == 200
    # Submitted now: its follow-up is not due yet.
    recent = submitted_signals_run(acc, signals_protocol, "OP-TEST-RECENT-1")
    assert approve_via_api(sup, recent, []).status_code == 200
    # Approved, then its follow-up says someone was removed: a red flag after approval.
    flagged = submitted_signals_run(acc, signals_protocol, "OP-TEST-REMOVED-1", days_ago=4)
    assert approve_via_api(sup, flagged, []).status_code == 200
    response = acc.send(flagged, event("step.set", "no-removal-72h", "yes"),
                        event("step.set", "services-reachable", True))
    assert response.status_code == 200 and response.get_json()["status"] == "closed"

    login(client, "sup2")
    home = client.get("/").get_data(as_text=True)
    overdue = text_of(section(home, "overdue-follow-ups"))
    assert "1 follow-up is overdue" in overdue and "OP-TEST-LATE-1" in overdue
    assert "OP-TEST-RECENT-1" not in overdue and "OP-TEST-REMOVED-1" not in overdue  # not due; closed
    due = acc.get(f"/api/v1/runs/{late}").get_json()["state"]["follow_ups"][0]["due_at"]
    assert f'/review/{late}"' in section(home, "overdue-follow-ups")
    assert datetime.fromisoformat(due) < datetime.now(UTC)
    raised = text_of(section(home, "follow-up-flags"))
    assert "1 approved run raised red flags in its follow-up" in raised
    assert "OP-TEST-REMOVED-1" in raised and "1 red flag" in raised and "OP-TEST-LATE-1" not in raised
    # The review page says the flag came after approval.
    page = client.get(f"/review/{flagged}").get_data(as_text=True)
    assert "Raised after approval" in text_of(section(page, "red-flags"))
    # Accompaniers see neither list.
    accs_home = acc.get("/").get_data(as_text=True)
    assert 'id="overdue-follow-ups"' not in accs_home and 'id="follow-up-flags"' not in accs_home


def test_follow_up_and_closed_runs_in_the_queue_filters(app, api, client, signals_protocol):
    acc, sup = api("acc"), api("sup")
    open_run = submitted_signals_run(acc, signals_protocol, "OP-TEST-OPEN-FU-1")
    assert approve_via_api(sup, open_run, []).status_code == 200
    closed = submitted_signals_run(acc, signals_protocol, "OP-TEST-CLOSED-1")
    assert approve_via_api(sup, closed, []).status_code == 200
    assert acc.send(closed, event("step.set", "no-removal-72h", "no"),
                    event("step.set", "services-reachable", True)).status_code == 200
    login(client, "sup")
    assert list(cards(client.get("/review?status=follow_up").get_data(as_text=True))) == ["OP-TEST-OPEN-FU-1"]
    assert list(cards(client.get("/review?status=closed").get_data(as_text=True))) == ["OP-TEST-CLOSED-1"]
    assert sorted(cards(client.get("/review?status=approved").get_data(as_text=True))) == ["OP-TEST-CLOSED-1",
                                                                                           "OP-TEST-OPEN-FU-1"]
    assert list(cards(client.get("/review").get_data(as_text=True))) == []


def _flagged_runs_for_axe(app, signals_protocol) -> dict[str, str]:
    """On a worker thread (see tests/browser.make_sample_runs): a returned-and-corrected run with red flags, and
    an approved run whose follow-up raised one and another overdue, for the supervisor's pages."""
    import threading

    from tests.conftest import Api

    made: dict[str, str] = {}

    def make():
        acc, sup = Api(app, "acc"), Api(app, "sup")
        run_id = submitted_signals_run(acc, signals_protocol, "OP-TEST-AXE-1", family_contact_safe="no",
                                       deviation="The shelter van arrived an hour late.")
        sup.send(run_id, event("review.returned", note="Say where people were placed in the end."))
        acc.send(run_id, event("step.set", "placement", "police-cell"),
                 event("run.submitted", value={"name": "Test Accompanier", "confirmed": True}))
        late = submitted_signals_run(acc, signals_protocol, "OP-TEST-AXE-LATE-1", days_ago=4)
        approve_via_api(sup, late, [])
        acc.send(late, event("step.set", "no-removal-72h", "yes"))
        made.update(run=run_id, late=late)

    worker = threading.Thread(target=make)
    worker.start()
    worker.join()
    assert made, "making the runs failed"
    return made


@pytest.mark.browser
def test_supervisor_pages_with_red_flags_pass_axe(app, live_server, signals_protocol, browser):
    """The new parts (flag checkboxes outside their form, the refusal list, what changed, the home lists and the
    queue's errors) in a real browser with axe-core: no violations."""
    from tests.browser import axe_violations, describe, sign_in

    runs = _flagged_runs_for_axe(app, signals_protocol)
    context = browser.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()
    try:
        sign_in(page, live_server, "sup2")
        checked = []
        for path in (f"/review/{runs['run']}", f"/review/{runs['late']}", "/", "/review?sort=flags",
                     "/review?sort=loudest&label=" + "X" * 81):
            page.goto(live_server + path)
            checked.append((path, axe_violations(page)))
        page.goto(f"{live_server}/review/{runs['run']}")
        page.check("#approve-acknowledged-0")
        page.fill("#approve-comment", "Checked with the team lead.")
        with page.expect_navigation():
            page.click("#approve-run button[type=submit]")
        assert page.locator("#unacknowledged-flags").is_visible()
        assert page.input_value("#approve-comment") == "Checked with the team lead."
        assert page.is_checked("#approve-acknowledged-0")
        checked.append(("refused approval", axe_violations(page)))
        # Ticking the rest, with the boxes outside the form, approves.
        for box in page.locator("input[name=approve-acknowledged]").all():
            box.check()
        with page.expect_navigation():
            page.click("#approve-run button[type=submit]")
        assert page.url.endswith("/review")
    finally:
        context.close()
    found = [(path, describe(v)) for path, v in checked if v]
    if found:
        pytest.fail("\n".join(f"{path}:\n{text}" for path, text in found))
