"""Voice of the customer: CSAT, NPS, sentiment and the emotion curve on small hand-made events,
with results computed by hand, on every engine."""

from __future__ import annotations

import pytest

from journeyscope.analytics.sentiment import score_text, text_sentiment, with_sentiment
from journeyscope.analytics.voc import designed_emotion, emotion_curve, voice_by
from journeyscope.model.types import JourneyMap

MAP = JourneyMap.model_validate({
    "name": "voc",
    "stages": [{"id": "buy", "name": "Buy"}, {"id": "use", "name": "Use"}],
    "personas": [{"id": "cfo", "name": "CFO"}, {"id": "user", "name": "User"}],
    "touchpoints": [
        {"id": "demo", "stage": "buy", "name": "Demo", "emotion": {"cfo": 1, "user": 2},
         "kpis": [{"name": "Demo CSAT", "target": 4.0, "measure": "csat"}]},
        {"id": "survey", "stage": "use", "name": "NPS survey", "emotion": {"user": -1},
         "kpis": [{"name": "NPS", "target": 30, "measure": "nps"}]},
        {"id": "ticket", "stage": "use", "name": "Ticket", "emotion": {"user": 0, "cfo": -2},
         "kpis": [{"name": "Satisfied share", "target": 0.8, "measure": "csat"}]},
    ],
})


def _ev(account, tp, stage, score=None, text=None, persona=None, activity="x", day=1):
    return {"account_id": account, "ts": f"2024-01-{day:02d}", "activity": activity,
            "touchpoint": tp, "stage": stage, "score": score, "text": text,
            "persona": persona}


EVENTS = [
    _ev("a", "demo", "buy", 5.0, persona="cfo"),
    _ev("a", "demo", "buy", 3.0, persona="user"),
    _ev("b", "demo", "buy", 4.0, persona="user"),
    _ev("b", "demo", "buy", 1.0, persona="user"),
    _ev("a", "survey", "use", 10.0, persona="user"),
    _ev("b", "survey", "use", 9.0, persona="user"),
    _ev("c", "survey", "use", 7.0, persona="cfo"),
    _ev("c", "survey", "use", 3.0, persona="cfo"),
    _ev("c", "survey", "use", 0.0, persona="cfo"),
    _ev("c", "ticket", "use", None, text="Terrible, slow and broken support", persona="user"),
    _ev("a", "ticket", "use", None, text="Great, quick and helpful answer", persona="user"),
    _ev("a", "ticket", "use", 5.0, persona="user"),
    _ev("a", None, None, 2.0, activity="stray"),
]


def test_csat_and_nps_by_touchpoint_match_hand_counts(load):
    src = load(events=EVENTS)
    out = voice_by(src.table("events"), MAP, by="touchpoint").to_pyarrow().to_pylist()
    rows = {r["touchpoint"]: r for r in out}
    assert set(rows) == {"demo", "survey", "ticket"}  # the unmatched event has no touchpoint
    demo = rows["demo"]
    assert demo["csat_responses"] == 4 and demo["nps_responses"] == 0
    assert demo["csat"] == pytest.approx(0.5)  # 5 and 4 of 5, 3, 4, 1
    assert demo["csat_mean"] == pytest.approx(13 / 4)
    assert demo["csat_target"] == 4.0 and demo["csat_met"] is False  # mean 3.25 < 4
    survey = rows["survey"]
    assert (survey["promoters"], survey["detractors"], survey["nps_responses"]) == (2, 2, 5)
    assert survey["nps"] == pytest.approx(0.0)
    assert survey["nps_target"] == 30 and survey["nps_met"] is False
    assert survey["accounts"] == 3
    ticket = rows["ticket"]
    assert ticket["csat"] == pytest.approx(1.0) and ticket["csat_met"] is True  # share >= 0.8


def test_nps_is_recognised_by_activity_name_without_a_kpi(load):
    bare = JourneyMap.model_validate({"name": "m", "stages": [{"id": "s", "name": "S"}]})
    src = load(events=[_ev("a", None, "s", 10.0, activity="NPS_response"),
                       _ev("b", None, "s", 2.0, activity="nps_response"),
                       _ev("b", None, "s", 5.0, activity="rating")])
    row = voice_by(src.table("events"), bare, by="stage").to_pyarrow().to_pylist()[0]
    assert row["nps"] == pytest.approx(0.0)  # one promoter, one detractor
    assert row["csat_responses"] == 1 and row["csat"] == pytest.approx(1.0)


def test_sentiment_by_persona_counts_negative_comments(load):
    src = load(events=EVENTS)
    events = src.table("events")
    scored = with_sentiment(events, text_sentiment(events))
    rows = {r["persona"]: r for r in voice_by(scored, MAP, by="persona").to_pyarrow().to_pylist()}
    assert rows["user"]["comments"] == 2
    assert rows["user"]["negative_share"] == pytest.approx(0.5)
    assert rows["cfo"]["comments"] == 0


def test_vader_scores_tell_negative_from_positive():
    assert score_text("Terrible, slow and broken support") < -0.5
    assert score_text("Great, quick and helpful answer") > 0.5


def test_designed_emotion_averages_the_touchpoints_personas():
    table = designed_emotion(MAP).to_pylist()
    assert table == [{"stage": "buy", "designed": 1.5}, {"stage": "use", "designed": -1.0}]
    per = {(r["stage"], r["persona"]): r["designed"]
           for r in designed_emotion(MAP, by_persona=True).to_pylist()}
    assert per == {("buy", "cfo"): 1.0, ("buy", "user"): 2.0, ("use", "user"): -0.5,
                   ("use", "cfo"): -2.0}


def test_emotion_curve_puts_measured_beside_designed(load):
    src = load(events=EVENTS)
    events = src.table("events")
    scored = with_sentiment(events, text_sentiment(events))
    rows = emotion_curve(scored, MAP).to_pyarrow().to_pylist()
    assert [r["stage"] for r in rows] == ["buy", "use"]
    buy = rows[0]
    # CSAT 5, 3, 4, 1 on -2..+2: 2, 0, 1, -2
    assert buy["measured"] == pytest.approx(0.25) and buy["designed"] == 1.5
    assert buy["gap"] == pytest.approx(-1.25) and buy["signals"] == 4
    use = rows[1]
    neg = score_text("Terrible, slow and broken support") * 2
    pos = score_text("Great, quick and helpful answer") * 2
    # NPS 10, 9, 7, 3, 0 -> 2, 1.6, 0.8, -0.8, -2; CSAT 5 -> 2; two texts
    expected = (2 + 1.6 + 0.8 - 0.8 - 2 + 2 + neg + pos) / 8
    assert use["measured"] == pytest.approx(expected)
    assert use["from_text"] == pytest.approx((neg + pos) / 2)


def test_emotion_curve_keeps_stages_without_data(load):
    src = load(events=[_ev("a", "demo", "buy", 5.0)])
    rows = emotion_curve(src.table("events"), MAP).to_pyarrow().to_pylist()
    assert [(r["stage"], r["measured"], r["signals"]) for r in rows] == [
        ("buy", pytest.approx(2.0), 1), ("use", None, 0)]


def test_emotions_carried_by_the_events_are_read_as_they_are(load):
    """An analysis works each event's score kind and emotions out once (`event_emotion`) and
    keeps them with its feedback events: what reads them then gives what it gives from the
    bare events, and reads the columns rather than working them out again."""
    from journeyscope.analytics.voc import event_emotion

    events = load(events=EVENTS).table("events")
    scored = with_sentiment(events, text_sentiment(events))
    carried = event_emotion(scored, MAP)
    assert event_emotion(carried, MAP) is carried
    kinds = {(r["touchpoint"], r["activity"]): r["score_nps"]
             for r in carried.to_pyarrow().to_pylist()}
    assert kinds == {("demo", "x"): False, ("survey", "x"): True, ("ticket", "x"): False,
                     (None, "stray"): False}
    for by in ("touchpoint", "persona"):
        assert voice_by(carried, MAP, by=by).to_pyarrow().equals(
            voice_by(scored, MAP, by=by).to_pyarrow())
    assert emotion_curve(carried, MAP).to_pyarrow().equals(
        emotion_curve(scored, MAP).to_pyarrow())
    shifted = carried.mutate(emotion=carried.emotion + 1.0)
    before = emotion_curve(carried, MAP).to_pyarrow().to_pylist()
    after = emotion_curve(shifted, MAP).to_pyarrow().to_pylist()
    assert [a["measured"] for a in after] == pytest.approx([b["measured"] + 1 for b in before])
