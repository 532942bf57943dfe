"""The capacity planner: a full day serves the largest expected loss first, carries the rest to
the next day, defers (never drops) what still does not fit, and never exceeds a capacity."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from fanzha.decide.policy import Capacity
from fanzha.dispatch.capacity import DEFAULT_AMOUNT_FEN, Want, plan

D0 = dt.date(2026, 3, 7)


def want(tid, score, amount=None, day=D0, action="home_visit", area="A", tier="high"):
    return Want(tid, action, area, day, tier, score, amount)


def test_a_full_day_serves_the_largest_expected_loss_and_defers_the_rest_with_a_reason():
    wants = [want("a", 0.9, 1_000), want("b", 0.5, 5_000_000), want("c", 0.8)]
    got = plan(wants, {"home_visit": Capacity(per_area=2)})
    # b: 0.5 x 50,000 yuan; c: 0.8 x the default 10,000 yuan; a: 0.9 x 10 yuan
    assert got["b"].served_day == D0 and got["c"].served_day == D0
    assert got["a"].served_day is None
    assert "home_visit capacity 2/day in area A full on 2026-03-07" in got["a"].reason
    assert want("c", 0.8).expected_loss == 0.8 * DEFAULT_AMOUNT_FEN


def test_what_does_not_fit_is_carried_to_the_next_day_then_deferred():
    wants = [want(str(i), 0.9 - i / 10, day=D0) for i in range(3)]
    got = plan(wants, {"home_visit": Capacity(per_day=1)}, last_day=D0 + dt.timedelta(days=1))
    assert got["0"].served_day == D0 and got["0"].reason is None
    assert got["1"].served_day == D0 + dt.timedelta(days=1)
    assert got["1"].reason == "carried from 2026-03-07"
    assert got["2"].served_day is None and "full on 2026-03-08" in got["2"].reason


def test_areas_have_their_own_capacity_and_other_actions_are_not_limited():
    wants = [want("a1", 0.9, area="A"), want("a2", 0.8, area="A"), want("b1", 0.1, area="B")]
    wants.append(want("s", 0.1, action="sms"))
    got = plan(wants, {"home_visit": Capacity(per_area=1)})
    assert [t for t, v in sorted(got.items()) if v.served_day is None] == ["a2"]


def test_slots_taken_by_an_earlier_dispatch_count():
    used = Counter({("call", D0): 2})
    got = plan([want("x", 1.0, action="call")], {"call": Capacity(agents=1, per_agent=2)}, used)
    assert got["x"].served_day is None and "call capacity 2/day full" in got["x"].reason


wants_st = st.lists(
    st.builds(
        want,
        st.uuids().map(str),
        st.floats(0, 1),
        st.one_of(st.none(), st.integers(0, 10**9)),
        st.integers(0, 4).map(lambda d: D0 + dt.timedelta(days=d)),
        st.sampled_from(["home_visit", "call", "sms"]),
        st.sampled_from(["A", "B"]),
        st.sampled_from(["low", "medium", "high"]),
    ),
    max_size=60,
    unique_by=lambda w: w.task_id,
)


@settings(max_examples=200, deadline=None)
@given(wants_st, st.integers(0, 5), st.integers(0, 5))
def test_every_task_gets_a_verdict_and_no_capacity_is_exceeded(wants, per_day, per_area):
    cap = {"home_visit": Capacity(per_area=per_area), "call": Capacity(per_day=per_day)}
    got = plan(wants, cap)
    assert set(got) == {w.task_id for w in wants}
    by = {w.task_id: w for w in wants}
    days: Counter = Counter()
    for tid, v in got.items():
        w = by[tid]
        if v.served_day is None:
            assert w.action in cap and v.reason
            continue
        assert v.served_day >= w.day
        days[(w.action, w.area if w.action == "home_visit" else "", v.served_day)] += 1
    for (action, _area, _day), n in days.items():
        if action == "home_visit":
            assert n <= per_area
        if action == "call":
            assert n <= per_day
    # a deferred task never has a larger expected loss than one served on its own last day
    last = max((w.day for w in wants), default=D0)
    for tid, v in got.items():
        w = by[tid]
        if v.served_day is None:
            rivals = [
                by[t]
                for t, u in got.items()
                if u.served_day == last
                and by[t].action == w.action
                and (w.action != "home_visit" or by[t].area == w.area)
            ]
            assert all(r.expected_loss >= w.expected_loss for r in rivals)
