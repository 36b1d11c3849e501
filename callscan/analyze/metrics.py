"""Conversation metrics computed from segment time stamps and roles."""

from __future__ import annotations

from ..schema import Segment


def conversation_metrics(segments: list[Segment], duration: float) -> dict:
    """Talk time per role, talk ratio, questions, monologues, speaker switches."""
    turns = _turns(segments)
    talk: dict[str, float] = {}
    for role, start, end, _ in turns:
        talk[role] = talk.get(role, 0.0) + (end - start)
    rep, customer = talk.get("rep", 0.0), talk.get("customer", 0.0)
    switches = sum(1 for a, b in zip(turns, turns[1:]) if a[0] != b[0])
    minutes = max(duration, 1e-9) / 60
    return {
        "talk_seconds": {role: round(value, 1) for role, value in sorted(talk.items())},
        "rep_talk_share": round(rep / (rep + customer), 3) if rep + customer else None,
        "rep_questions": sum(s.text.count("?") for s in segments if s.role == "rep"),
        "customer_questions": sum(s.text.count("?") for s in segments if s.role == "customer"),
        "longest_rep_monologue": round(max((e - s for r, s, e, _ in turns if r == "rep"), default=0.0), 1),
        "longest_customer_story": round(max((e - s for r, s, e, _ in turns if r == "customer"), default=0.0), 1),
        "switches_per_minute": round(switches / minutes, 2) if duration else 0.0,
    }


def _turns(segments: list[Segment]) -> list[tuple[str, float, float, int]]:
    """Merge consecutive segments of the same role into turns: (role, start, end, n_segments)."""
    turns: list[tuple[str, float, float, int]] = []
    for seg in sorted(segments, key=lambda s: s.start):
        if turns and turns[-1][0] == seg.role:
            role, start, end, n = turns[-1]
            turns[-1] = (role, start, max(end, seg.end), n + 1)
        else:
            turns.append((seg.role, seg.start, seg.end, 1))
    return turns
