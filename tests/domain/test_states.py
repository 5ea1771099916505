import pytest

from tada.domain.states import TERMINAL, TRANSITIONS, IllegalTransition, LinkState, can_move, check_move

S = LinkState

#: The state diagram of docs/architecture.md, written out independently of tada/domain/states.py.
EXPECTED = {
    S.REPORTED: {S.AWAITING_RESPONSE, S.REMOVED, S.WITHDRAWN},
    S.AWAITING_RESPONSE: {S.FOLLOW_UP, S.ESCALATED, S.UNRESOLVED, S.REMOVED, S.WITHDRAWN},
    S.FOLLOW_UP: {S.AWAITING_RESPONSE, S.ESCALATED, S.UNRESOLVED, S.REMOVED, S.WITHDRAWN},
    S.ESCALATED: {S.UNRESOLVED, S.REMOVED, S.WITHDRAWN},
    S.UNRESOLVED: {S.REMOVED, S.REPORTED, S.ESCALATED, S.WITHDRAWN},  # reopen, or a late contact
    S.REMOVED: {S.REPORTED, S.WITHDRAWN},
    S.WITHDRAWN: set(),
}


def test_every_state_has_a_row():
    assert set(TRANSITIONS) == set(LinkState)


@pytest.mark.parametrize("state", list(LinkState))
def test_legal_targets(state):
    assert set(TRANSITIONS[state]) == EXPECTED[state]
    for target in LinkState:
        assert can_move(state, target) == (target in EXPECTED[state])


@pytest.mark.parametrize("state", [s for s in LinkState if s is not S.WITHDRAWN])
def test_withdraw_is_possible_from_every_live_state(state):
    check_move(state, S.WITHDRAWN)


def test_withdrawn_is_terminal():
    assert TERMINAL == {S.WITHDRAWN}
    for target in LinkState:
        assert not can_move(S.WITHDRAWN, target)


def test_removal_needs_no_notice_when_already_gone_but_reported_cannot_skip_to_escalation():
    check_move(S.REPORTED, S.REMOVED)
    assert not can_move(S.REPORTED, S.ESCALATED)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.REPORTED, S.FOLLOW_UP),
        (S.REMOVED, S.AWAITING_RESPONSE),
        (S.ESCALATED, S.FOLLOW_UP),
        (S.WITHDRAWN, S.REPORTED),
        (S.REPORTED, S.REPORTED),
    ],
)
def test_illegal_move_raises(current, target):
    with pytest.raises(IllegalTransition) as caught:
        check_move(current, target)
    assert caught.value.current is current
    assert caught.value.target is target
    assert str(caught.value) == f"illegal transition {current} -> {target}"
