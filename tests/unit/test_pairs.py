from kindling.store.pairs import JudgedCandidate, pair_up


def j(vid: int, q: int, r: int, good: bool) -> JudgedCandidate:
    return JudgedCandidate(verdict_id=vid, query_id=q, response_id=r, good=good)


def test_pairs_are_good_times_bad_within_a_query() -> None:
    judged = [j(1, 10, 100, True), j(2, 10, 101, False), j(3, 10, 102, False),
              j(4, 11, 110, True), j(5, 12, 120, False)]
    pairs = pair_up(judged, None)
    assert [(p["chosen_id"], p["rejected_id"]) for p in pairs] == [(100, 101), (100, 102)]
    assert pairs[0]["evidence"] == {"chosen_verdict_id": 1, "rejected_verdict_id": 2}


def test_cap_per_query_and_determinism() -> None:
    judged = [j(i, 1, 100 + i, i % 2 == 0) for i in range(10)]
    capped = pair_up(judged, 3)
    assert len(capped) == 3
    assert capped == pair_up(list(reversed(judged)), 3)
    assert len(pair_up(judged, None)) == 25


def test_no_pairs_without_both_sides() -> None:
    assert pair_up([j(1, 1, 1, True), j(2, 1, 2, True)], None) == []


def test_the_cap_counts_real_pairs_only() -> None:
    """A response judged both good and bad (two candidates, same text) is not paired with itself,
    and does not use up the cap: one pair per query still finds the real pair."""
    judged = [j(1, 1, 100, True), j(2, 1, 100, False), j(3, 1, 101, False)]
    assert [(p["chosen_id"], p["rejected_id"]) for p in pair_up(judged, 1)] == [(100, 101)]
