"""The policy's defaults (runs/policy.py), written for a mutant `make mutate` found alive (issue 14): a caller
that asks only about a follow-up step must be told yes, not be taken to ask about the whole operation."""
from __future__ import annotations

from donoharm.runs.policy import may_change_run

RUN = {"creator_id": 7}


def test_in_follow_up_the_creator_may_answer_a_follow_up_step_without_saying_more():
    assert may_change_run(7, RUN, "follow_up", False, follow_up_step=True) is True
    assert may_change_run(7, RUN, "follow_up", False) is True
    assert may_change_run(7, RUN, "follow_up", False, follow_up_step=False) is False
    assert may_change_run(7, RUN, "follow_up", False, follow_up_step=True, whole_run=True) is False
