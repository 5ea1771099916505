"""A link with nothing more to do says why, in one form that the read side understands."""

from tada.domain.next_action import nothing_more, why_nothing_more


def test_nothing_more_reads_back_its_reason():
    assert nothing_more("withdrawn") == "none: withdrawn"  # the form histories and the database hold
    assert why_nothing_more(nothing_more("watch ended")) == "watch ended"


def test_a_next_step_is_not_nothing_more():
    assert why_nothing_more("follow-up check") is None
    assert why_nothing_more(None) is None
    assert why_nothing_more("") is None
