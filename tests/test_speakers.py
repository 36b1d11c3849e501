"""Speaker separation (mono voices, dual-channel echo) and rep/customer roles.

Most tests run on synthetic "voices" (harmonic tones with a pitch and vowel-like formants, one
tone per word), so they need no Whisper and no audio files; one test transcribes a small
committed clip of two Festival voices end to end.
"""

import json
import logging

import numpy as np
import pytest

from callscan.config import TranscribeOptions
from callscan.errors import CallscanError
from callscan.ingest.audio import DecodedAudio, _pydub
from callscan.roles import load_cues
from callscan.schema import Segment, Source, Transcript, Word
from callscan.speakers import assign_roles, separate_speakers
from conftest import DATA

SR = 16000
VOWELS = [(730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (570, 840, 2410), (300, 870, 2240)]
LOW, HIGH, MIDDLE = (110, 1.0), (205, 1.17), (150, 0.88)  # (pitch Hz, formant scale)


# -- synthetic material ---------------------------------------------------------------------

def _word_tone(rng, pitch, scale, seconds):
    """One 'word': a harmonic tone with a wobbling pitch and a random vowel's formants."""
    t = np.arange(int(seconds * SR)) / SR
    formants = np.array(VOWELS[rng.integers(len(VOWELS))]) * scale
    contour = pitch * (1 + 0.06 * np.sin(2 * np.pi * rng.uniform(2, 4) * t + rng.uniform(0, 6)))
    phase = 2 * np.pi * np.cumsum(contour) / SR
    x = np.zeros(len(t))
    for h in range(1, int(4000 / pitch)):
        gain = sum(np.exp(-0.5 * ((h * pitch - f) / 90) ** 2) for f in formants) + 0.05
        x += gain / np.sqrt(h) * np.sin(h * phase)
    ramp = np.minimum(1, np.minimum(t, t[::-1]) / 0.03)
    return x * ramp / np.max(np.abs(x))


def conversation(voices, turns, seed=0):
    """int16 mono audio and [(start, end, voice)] per word; ``turns`` = [(voice, words)]."""
    rng = np.random.default_rng(seed)
    audio = np.zeros(int(SR * (2 + sum(n for _, n in turns) * 0.6 + len(turns))))
    words, t = [], 0.5
    for voice, count in turns:
        for _ in range(count):
            seconds = rng.uniform(0.22, 0.45)
            if voices[voice] is None:  # noise that Whisper took for words (hiss, a fan)
                x = rng.normal(0, 0.15, int(seconds * SR))
            else:
                x = 0.4 * _word_tone(rng, *voices[voice], seconds)
            audio[int(t * SR) : int(t * SR) + len(x)] += x
            words.append((round(t, 3), round(t + seconds, 3), voice))
            t += seconds + rng.uniform(0.03, 0.12)
        t += rng.uniform(0.4, 0.8)
    audio = audio[: int((t + 0.3) * SR)] + rng.normal(0, 0.002, int((t + 0.3) * SR))
    return (np.clip(audio, -1, 1) * 32767).astype(np.int16), words


def mono(samples):
    segment = _pydub()(data=samples.tobytes(), sample_width=2, frame_rate=SR, channels=1)
    return DecodedAudio([segment], "mono", len(samples) / SR)


def segments_of(words, per_segment=9):
    """Whisper-like segments of a fixed number of words, cutting across speaker turns."""
    out = []
    for i in range(0, len(words), per_segment):
        chunk = [Word(s, e, f"w{i + j}") for j, (s, e, _) in enumerate(words[i : i + per_segment])]
        out.append(Segment(chunk[0].start, chunk[-1].end, " ".join(w.word for w in chunk), words=chunk))
    return out


TWO_VOICES = [(0, 6), (1, 5), (0, 7), (1, 6), (0, 5), (1, 7), (0, 6), (1, 5)]


@pytest.fixture(scope="module")
def two_voices():
    return conversation([LOW, HIGH], TWO_VOICES)


def source(rep=None, name="call.wav", kind="audio"):
    return Source(name, name, kind, "0" * 16, 0, rep=rep)


def transcript(turns, channels="mono"):
    """A transcript from [(speaker or channel, text)], five seconds a turn."""
    segments = []
    for i, (who, text) in enumerate(turns):
        seg = Segment(i * 5.0, i * 5.0 + 4.0, text)
        if channels == "stereo":
            seg.channel = who
        else:
            seg.speaker = who
        segments.append(seg)
    return Transcript(segments, duration=len(turns) * 5.0, channels=channels)


# -- mono separation ------------------------------------------------------------------------

def test_two_voices_split_at_word_boundaries(two_voices):
    samples, words = two_voices
    original = segments_of(words)
    all_words = [w for s in original for w in s.words]
    result = separate_speakers(mono(samples), [Segment(s.start, s.end, s.text, words=list(s.words)) for s in original])

    assert {s.speaker for s in result} == {"Speaker 1", "Speaker 2"}
    assert result[0].speaker == "Speaker 1"  # numbered in order of first appearance
    # Every word is kept once, whole and in order; segments are built from their words.
    assert [w for s in result for w in s.words] == all_words
    for seg in result:
        assert (seg.start, seg.end) == (seg.words[0].start, seg.words[-1].end)
        assert seg.text == " ".join(w.word for w in seg.words)
    said_by = {w.word: s.speaker for s in result for w in s.words}
    truth = {f"w{i}": f"Speaker {v + 1}" for i, (_, _, v) in enumerate(words)}
    right = sum(said_by[w] == truth[w] for w in truth)
    assert right >= 0.95 * len(truth)
    # Segments that spanned a change of speaker were cut there.
    assert len(result) > len(original)


def test_unsplit_segments_keep_their_text(two_voices):
    samples, words = two_voices
    # One segment per turn: nothing to cut, Whisper's own text (punctuation) stays.
    turns, start = [], 0
    for _, count in TWO_VOICES:
        chunk = [Word(s, e, "x") for s, e, _ in words[start : start + count]]
        turns.append(Segment(chunk[0].start, chunk[-1].end, "Whisper's text, punctuated.", words=chunk))
        start += count
    result = separate_speakers(mono(samples), turns)
    assert len(result) == len(turns)
    assert all(s.text == "Whisper's text, punctuated." for s in result)
    assert [s.speaker for s in result] == [f"Speaker {v + 1}" for v, _ in TWO_VOICES]


def test_one_voice_stays_one_speaker():
    samples, words = conversation([LOW], [(0, 6), (0, 5), (0, 7), (0, 6), (0, 5), (0, 7), (0, 6), (0, 5)], seed=3)
    result = separate_speakers(mono(samples), segments_of(words))
    assert {s.speaker for s in result} == {"Speaker 1"}


def test_noise_taken_for_words_is_not_a_speaker():
    turns = [(0, 6), (1, 5), (0, 7), (0, 6), (1, 5), (0, 7), (0, 6), (1, 5), (0, 6)]
    samples, words = conversation([LOW, None], turns, seed=3)
    result = separate_speakers(mono(samples), segments_of(words))
    assert {s.speaker for s in result} == {"Speaker 1"}


def test_three_clear_voices_give_three_speakers():
    turns = [(0, 6), (1, 5), (2, 7), (0, 6), (1, 5), (2, 7), (0, 6), (1, 5), (2, 6)]
    samples, words = conversation([LOW, HIGH, MIDDLE], turns, seed=1)
    result = separate_speakers(mono(samples), segments_of(words))
    assert {s.speaker for s in result} == {"Speaker 1", "Speaker 2", "Speaker 3"}


def test_too_little_speech_stays_one_speaker(two_voices):
    samples, words = two_voices
    result = separate_speakers(mono(samples), segments_of(words[:4], per_segment=4))
    assert {s.speaker for s in result} == {"Speaker 1"}


def test_segments_without_word_times_are_labelled_whole(two_voices):
    samples, words = two_voices
    turns, start = [], 0
    for _, count in TWO_VOICES:
        turns.append(Segment(words[start][0], words[start + count - 1][1], "a turn"))
        start += count
    result = separate_speakers(mono(samples), turns)
    assert len(result) == len(turns)
    assert len({s.speaker for s in result}) in (1, 2)  # a whole turn is a coarse unit; never split


# -- dual-channel echo ------------------------------------------------------------------------

def _stereo(loud_left: list[tuple[float, float]], loud_right: list[tuple[float, float]], seconds=8.0):
    """Two channels of noise bursts: 'speech' at full level where listed, a -14 dB echo of
    the other channel's speech elsewhere."""
    rng = np.random.default_rng(0)
    n = int(seconds * SR)
    channels = [rng.normal(0, 30, n), rng.normal(0, 30, n)]
    for own, spans in ((0, loud_left), (1, loud_right)):
        for lo, hi in spans:
            burst = rng.normal(0, 3000, int((hi - lo) * SR))
            channels[own][int(lo * SR) : int(lo * SR) + len(burst)] += burst
            channels[1 - own][int(lo * SR) : int(lo * SR) + len(burst)] += 0.2 * burst
    pcm = [np.clip(c, -32768, 32767).astype(np.int16) for c in channels]
    segs = [_pydub()(data=p.tobytes(), sample_width=2, frame_rate=SR, channels=1) for p in pcm]
    return DecodedAudio(segs, "stereo", seconds)


def _said(text, start, channel, step=0.3, shift=0.0):
    words = [Word(round(start + i * step + shift, 3), round(start + (i + 0.8) * step + shift, 3), w)
             for i, w in enumerate(text.split())]
    return Segment(words[0].start, words[-1].end, text, channel=channel, words=words)


def test_echo_is_kept_once_on_the_louder_channel():
    audio = _stereo(loud_left=[(0.5, 3.0)], loud_right=[(4.0, 6.5)])
    segments = [
        _said("thanks for joining how are things at acme", 0.5, 0),
        _said("thanks for joining how are things at acme", 0.5, 1, shift=0.05),  # echo on the right
        _said("busy but honestly we are happy with spreadsheets", 4.0, 1),
        _said("busy but honestly we are happy", 4.0, 0, shift=0.04),  # echo on the left
    ]
    result = separate_speakers(audio, segments)
    assert [(s.channel, s.text) for s in result] == [
        (0, "thanks for joining how are things at acme"),
        (1, "busy but honestly we are happy with spreadsheets"),
    ]


def test_real_overlap_and_repeated_words_elsewhere_are_kept():
    audio = _stereo(loud_left=[(0.5, 3.0)], loud_right=[(1.0, 1.5), (5.0, 6.5)])
    segments = [
        _said("so the price would be fourteen hundred", 0.5, 0),
        _said("right", 1.1, 1),  # said over the rep, not an echo of any word
        _said("the price would be too high", 5.0, 1),  # same words, different time
    ]
    result = separate_speakers(audio, [Segment(s.start, s.end, s.text, channel=s.channel, words=list(s.words))
                                       for s in segments])
    assert [(s.channel, s.text) for s in result] == [(s.channel, s.text) for s in segments]


def test_partial_echo_inside_a_longer_segment_is_cut_out():
    audio = _stereo(loud_left=[(2.0, 4.0)], loud_right=[(0.5, 1.8), (4.5, 6.0)])
    segments = [
        _said("we can send the proposal today", 2.0, 0),
        # The right channel's segment: real words, then the echo, then real words again.
        Segment(0.5, 6.0, "okay ... sounds good", channel=1, words=[
            Word(0.5, 0.9, "okay"), Word(1.0, 1.4, "great."),
            *[Word(2.0 + i * 0.3 + 0.03, 2.0 + (i + 0.8) * 0.3 + 0.03, w)
              for i, w in enumerate("we can send the proposal today".split())],
            Word(4.6, 5.0, "sounds"), Word(5.1, 5.5, "good."),
        ]),
    ]
    result = separate_speakers(audio, segments)
    assert [(s.channel, s.text) for s in result] == [
        (1, "okay great."), (0, "we can send the proposal today"), (1, "sounds good."),
    ]


def test_misheard_echo_is_dropped_by_level():
    audio = _stereo(loud_left=[(0.5, 3.0)], loud_right=[(4.0, 6.5)])
    segments = [
        _said("oh no sorry to hear that", 0.5, 0),
        _said("who knows how to eat a hear that", 0.5, 1, step=0.25),  # Whisper's take on the echo
        _said("it has been a long week", 4.0, 1),
    ]
    result = separate_speakers(audio, segments)
    assert [(s.channel, s.text) for s in result] == [(0, "oh no sorry to hear that"), (1, "it has been a long week")]


def test_echo_heard_only_on_the_wrong_channel_moves_to_the_speaker():
    audio = _stereo(loud_left=[(0.5, 3.0), (7.0, 7.6)], loud_right=[(4.0, 6.5)])
    segments = [
        _said("how about a demo next tuesday", 0.5, 1),  # Whisper missed it on the left
        _said("that works for me", 4.0, 1),
        _said("great thanks", 7.0, 0),
    ]
    result = separate_speakers(audio, segments)
    assert [(s.channel, s.text) for s in result] == [
        (0, "how about a demo next tuesday"), (1, "that works for me"), (0, "great thanks")]


def test_quiet_words_over_a_noisy_line_stay_put():
    audio = _stereo(loud_left=[(7.0, 7.6)], loud_right=[(4.0, 6.5)])
    # A loud hum on the left while the customer speaks quietly on the right.
    hum = np.frombuffer(audio.channels[0].raw_data, dtype=np.int16).astype(np.float64)
    hum[int(0.5 * SR) : int(3.0 * SR)] += 600 * np.sin(2 * np.pi * 60 * np.arange(int(2.5 * SR)) / SR)
    quiet = np.frombuffer(audio.channels[1].raw_data, dtype=np.int16).astype(np.float64)
    quiet[int(0.5 * SR) : int(3.0 * SR)] += np.random.default_rng(1).normal(0, 40, int(2.5 * SR))
    audio = DecodedAudio([_pydub()(data=c.astype(np.int16).tobytes(), sample_width=2, frame_rate=SR, channels=1)
                          for c in (hum, quiet)], "stereo", audio.duration)
    segments = [_said("um we could maybe", 0.5, 1), _said("that works for me", 4.0, 1), _said("great thanks", 7.0, 0)]
    result = separate_speakers(audio, segments)
    assert [s.channel for s in result] == [1, 1, 0]


# -- roles ------------------------------------------------------------------------------------

def test_text_cues_pick_the_rep_even_when_the_customer_speaks_first():
    t = transcript([
        ("Speaker 1", "Hello, Brightway Dental, Maria speaking."),
        ("Speaker 2", "Hi Maria, my name is Sam and I'm calling from Payline about your payroll."),
        ("Speaker 1", "Okay. We use spreadsheets and honestly it is fine."),
        ("Speaker 2", "Can you tell me how you handle overtime today? Our platform does it for you."),
        ("Speaker 1", "It's too expensive for our budget, I'd need to talk to my boss."),
        ("Speaker 2", "I can send you a case study. How about a demo next Tuesday?"),
    ])
    confidence = assign_roles(t, source())
    assert [s.role for s in t.segments] == ["customer", "rep"] * 3
    assert confidence >= 0.9


def test_manifest_rep_name_said_by_a_speaker():
    t = transcript([
        ("Speaker 1", "Hi, is this Karen?"),
        ("Speaker 2", "Yes, speaking."),
        ("Speaker 1", "This is Dana from FleetPilot."),
        ("Speaker 2", "Hi Dana."),
    ])
    confidence = assign_roles(t, source(rep="Dana Whitfield"))
    assert [s.role for s in t.segments] == ["rep", "customer", "rep", "customer"]
    assert confidence >= 0.9


def test_whisper_misspelling_of_the_rep_name_still_counts():
    t = transcript([("Speaker 1", "Good morning."), ("Speaker 2", "Morning! It's Pria from Skillhive.")])
    assign_roles(t, source(rep="Priya Natarajan"))
    assert [s.role for s in t.segments] == ["customer", "rep"]


def test_low_confidence_still_assigns_roles():
    t = transcript([("Speaker 1", "Okay."), ("Speaker 2", "Sure."), ("Speaker 1", "Right."), ("Speaker 2", "Yes.")])
    confidence = assign_roles(t, source())
    assert confidence < 0.6
    assert sorted({s.role for s in t.segments}) == ["customer", "rep"]


def test_rep_speaker_override_wins_over_the_words():
    turns = [("Speaker 1", "Hi, this is Dana from FleetPilot. Our platform helps."), ("Speaker 2", "We use spreadsheets.")]
    for label in ("Speaker 2", "2", "speaker 2"):
        t = transcript(turns)
        assert assign_roles(t, source(), rep_speaker=label) == 1.0
        assert [s.role for s in t.segments] == ["customer", "rep"]


def test_unknown_rep_speaker_falls_back_to_the_words(caplog):
    t = transcript([("Speaker 1", "Hi, this is Dana from FleetPilot. Our platform helps."),
                    ("Speaker 2", "We use spreadsheets.")])
    with caplog.at_level(logging.WARNING, logger="callscan.speakers"):
        confidence = assign_roles(t, source(), rep_speaker="Speaker 3")
    assert "matches no speaker" in caplog.text
    assert [s.role for s in t.segments] == ["rep", "customer"] and confidence < 1.0


def test_one_speaker_gets_a_role_only_when_the_words_are_clear():
    bland = transcript([("Speaker 1", "The price is too high for our budget this quarter.")])
    assert assign_roles(bland, source()) is None
    assert {s.role for s in bland.segments} == {"unknown"}
    voicemail = transcript([("Speaker 1", "Hi, this is Dana from FleetPilot, calling about our platform. "
                                          "I can send you a case study. How about a call next week?")])
    assert assign_roles(voicemail, source(rep="Dana Whitfield")) >= 0.8
    assert {s.role for s in voicemail.segments} == {"rep"}


def test_stereo_keeps_channel_roles():
    turns = [(0, "Hi, this is Dana from FleetPilot. Can you tell me how you plan routes?"),
             (1, "We use spreadsheets and they are free.")]
    t = transcript(turns, channels="stereo")
    assert assign_roles(t, source(rep="Dana Whitfield"), rep_channel="left") == 1.0
    assert [(s.speaker, s.role) for s in t.segments] == [("Dana Whitfield", "rep"), ("Customer", "customer")]

    t = transcript([(1, text) for _, text in turns[:1]] + [(0, turns[1][1])], channels="stereo")
    assert assign_roles(t, source(rep="Dana Whitfield"), rep_channel="right") == 1.0
    assert [s.role for s in t.segments] == ["rep", "customer"]


def test_stereo_with_one_side_silent_is_not_a_contradiction(caplog):
    t = transcript([(1, "We use spreadsheets and it's too expensive for our budget. Send me the numbers.")],
                   channels="stereo")
    with caplog.at_level(logging.WARNING, logger="callscan.speakers"):
        assert assign_roles(t, source(), rep_channel="left") == 1.0
    assert not caplog.text


def test_stereo_contradicted_by_the_words_keeps_roles_but_lowers_confidence(caplog):
    t = transcript([(0, "Hi, this is Dana from FleetPilot. Can you tell me how you plan routes? "
                        "Our platform connects to QuickBooks. I can show you a demo next Tuesday."),
                    (1, "Hi Dana. We use spreadsheets. That is more than I hoped, send me the numbers.")],
                   channels="stereo")
    with caplog.at_level(logging.WARNING, logger="callscan.speakers"):
        confidence = assign_roles(t, source(rep="Dana Whitfield"), rep_channel="right")
    assert [s.role for s in t.segments] == ["customer", "rep"]  # configuration is kept
    assert confidence < 0.6
    assert "--rep-channel left" in caplog.text


def test_transcript_speakers_named_like_the_manifest_rep():
    t = transcript([("Dana Whitfield", "Thanks for joining."), ("Sam Lee", "Our price is fine.")], channels="transcript")
    assert assign_roles(t, source(rep="Dana Whitfield", kind="transcript")) == 1.0
    assert [s.role for s in t.segments] == ["rep", "customer"]
    # No manifest name: the words decide.
    t = transcript([("Sam Lee", "We use spreadsheets, and it's too expensive."),
                    ("Dana Whitfield", "I'm calling from FleetPilot. Our platform can help, let me show you.")],
                   channels="transcript")
    assert assign_roles(t, source(kind="transcript")) > 0.6
    assert [s.role for s in t.segments] == ["customer", "rep"]


def test_malformed_role_cues_say_how_to_fix_them(tmp_path):
    bad = tmp_path / "roles.yaml"
    bad.write_text("greets:\n  weight: 1\n  patterns: ['(unclosed']\n")
    with pytest.raises(CallscanError, match="malformed"):
        load_cues(bad)


# -- end to end -------------------------------------------------------------------------------

@pytest.mark.slow
def test_whisper_clip_of_two_voices_end_to_end():
    from callscan.transcribe import transcribe_file

    folder = DATA / "speakers"
    truth = json.loads((folder / "two_voices.json").read_text())
    result = transcribe_file(folder / "two_voices.ogg", TranscribeOptions(), cpu_threads=1)
    confidence = assign_roles(result, source(rep=truth["rep"], name="two_voices.ogg"))

    words = [(w, s.role) for s in result.segments for w in s.words]
    def truth_at(t):
        return min(truth["turns"], key=lambda turn: 0 if turn["start"] <= t <= turn["end"]
                   else min(abs(turn["start"] - t), abs(turn["end"] - t)))["speaker"]
    right = sum(role == truth_at((w.start + w.end) / 2) for w, role in words)
    assert len({s.speaker for s in result.segments}) == 2
    assert right >= 0.9 * len(words)
    assert confidence >= 0.9
    assert result.timings["speakers"] < result.timings["transcribe"]
