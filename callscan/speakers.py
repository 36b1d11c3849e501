"""Who said it: speakers for each segment, then which of them is the rep.

Two steps, in two places:

- ``separate_speakers`` runs in the transcription worker, where the audio is at hand. A mono
  call is split into speakers by voice (``diarize``), one decision per Whisper word, and
  segments are cut at the words where the speaker changes. A dual-channel call keeps one
  speaker per channel, minus the echo of one side on the other channel (``crosstalk``).
- ``assign_roles`` runs in the main process, on a finished transcript, and decides which
  speaker is the rep (``roles``; cues in ``models/roles.yaml``).
"""

from __future__ import annotations

import logging

from .schema import Segment, Source, Transcript, Word

log = logging.getLogger(__name__)

#: Changes whenever separation would give different segments for the same audio; stored
#: transcripts made with another version should be transcribed again.
SEPARATION_VERSION = "1"
CHANNEL_INDEX = {"left": 0, "right": 1}
#: Below this role confidence the report flags the roles as a guess.
LOW_CONFIDENCE = 0.6
#: Text cues this sure that the *other* channel is the rep contradict --rep-channel.
CONTRADICTION_CONFIDENCE = 0.9
#: One speaker only (a voicemail, a monologue): name a role only when the words are this clear.
SINGLE_SPEAKER_CONFIDENCE = 0.8


def separate_speakers(audio, segments: list[Segment]) -> list[Segment]:
    """Mono: split segments by speaker ("Speaker 1", "Speaker 2", ... in order of first
    appearance). Dual-channel: keep each utterance that leaked into the other channel once,
    on its speaker's channel.

    ``audio`` is the call's ``DecodedAudio``; segments are in time order.
    """
    if not segments:
        return segments
    if audio.layout == "stereo":
        from .crosstalk import remove_crosstalk

        return remove_crosstalk([audio.samples(0), audio.samples(1)], segments)
    return split_by_voice(audio.samples(0), segments)


def split_by_voice(samples, segments: list[Segment]) -> list[Segment]:
    """Label every word with a speaker and cut segments where the speaker changes."""
    from .diarize import word_speakers

    units = [segment.words or [Word(segment.start, segment.end, segment.text)] for segment in segments]
    labels = iter(word_speakers(samples, [(w.start, w.end) for words in units for w in words]))
    result: list[Segment] = []
    for segment, words in zip(segments, units):
        runs: list[tuple[int, list[Word]]] = []
        for word in words:
            label = next(labels)
            if runs and runs[-1][0] == label:
                runs[-1][1].append(word)
            else:
                runs.append((label, [word]))
        if len(runs) == 1:
            segment.speaker = _speaker_name(runs[0][0])
            result.append(segment)
            continue
        result.extend(segment_from_words(segment, run, speaker=_speaker_name(label)) for label, run in runs)
    return result


def segment_from_words(template: Segment, words: list[Word], **changes) -> Segment:
    """A new segment made of ``words`` (times and text from them), keeping the template's
    channel, speaker and role unless ``changes`` says otherwise."""
    values = dict(speaker=template.speaker, role=template.role, channel=template.channel)
    values.update(changes)
    return Segment(start=words[0].start, end=words[-1].end, text=" ".join(w.word for w in words),
                   words=list(words), **values)


def _speaker_name(label: int) -> str:
    return f"Speaker {label + 1}"


# -- roles ------------------------------------------------------------------------------------

def assign_roles(transcript: Transcript, source: Source, rep_channel: str = "left",
                 rep_speaker: str | None = None) -> float | None:
    """Set ``speaker`` and ``role`` on every segment; return the call's role confidence.

    - Dual-channel: the rep is ``rep_channel`` (configuration, confidence 1.0). When the
      words strongly say the rep is on the *other* channel, the configured roles are kept
      but the confidence drops to how likely they are still right, and a warning is logged.
    - ``rep_speaker`` (mono audio and transcripts): that speaker label is the rep (1.0).
    - Transcripts: a speaker named like the manifest's rep is the rep (1.0); otherwise, or
      for mono audio, the text cues decide, and the confidence says how clearly
      (below ``LOW_CONFIDENCE``: a guess).
    - One speaker only: a role only when the words are clear, else "unknown" and None.
    """
    if transcript.channels == "stereo":
        return _by_channel(transcript, source, CHANNEL_INDEX[rep_channel])
    if rep_speaker:
        confidence = _forced(transcript, rep_speaker)
        if confidence is not None:
            return confidence
        labels = ", ".join(sorted({s.speaker for s in transcript.segments}))
        log.warning("%s: --rep-speaker %r matches no speaker (%s); deciding from the words",
                    source.name, rep_speaker, labels)
    if transcript.channels == "transcript":
        confidence = _by_rep_name(transcript, source)
        if confidence is not None:
            return confidence
    return _by_text(transcript, source)


def _forced(transcript: Transcript, rep_speaker: str) -> float | None:
    """The user said which speaker is the rep (``--rep-speaker``)."""
    rep = _match_name(rep_speaker, {s.speaker for s in transcript.segments})
    if rep is None:
        return None
    _set_rep(transcript.segments, rep)
    return 1.0


def _by_channel(transcript: Transcript, source: Source, rep_index: int) -> float:
    rep_name = source.rep or "Rep"
    for segment in transcript.segments:
        is_rep = segment.channel == rep_index
        segment.speaker = rep_name if is_rep else "Customer"
        segment.role = "rep" if is_rep else "customer"
    # The channel layout is configuration, not a guess, unless the words say otherwise.
    guess = _guess([(f"channel {s.channel}", s.text) for s in transcript.segments], source)
    if (len(guess.scores) < 2 or guess.rep == f"channel {rep_index}"
            or guess.confidence < CONTRADICTION_CONFIDENCE):
        return 1.0
    side = "right" if rep_index == 0 else "left"
    log.warning("%s: the words suggest the rep is on the %s channel (confidence %.2f); "
                "keeping --rep-channel %s. Pass --rep-channel %s if that channel is the rep.",
                source.name, side, guess.confidence, "left" if rep_index == 0 else "right", side)
    return round(1.0 - guess.confidence, 2)


def _by_rep_name(transcript: Transcript, source: Source) -> float | None:
    """A transcript speaker named like the manifest's rep; else roles the file carried."""
    speakers = {s.speaker for s in transcript.segments}
    rep = _match_name(source.rep, speakers) if source.rep else None
    if rep is not None:
        _set_rep(transcript.segments, rep)
        return 1.0
    # Keep roles a transcript file already carried (our own JSON does).
    if any(s.role in ("rep", "customer") for s in transcript.segments):
        return 1.0
    return None


def _by_text(transcript: Transcript, source: Source) -> float | None:
    segments = transcript.segments
    guess = _guess([(s.speaker, s.text) for s in segments], source)
    if len(guess.scores) < 2:
        return _single_speaker(segments, guess.scores, source)
    _set_rep(segments, guess.rep)
    confidence = round(guess.confidence, 2)
    if confidence < LOW_CONFIDENCE:
        log.info("%s: rep/customer roles are a guess (confidence %.2f)", source.name, confidence)
    return confidence


def _single_speaker(segments: list[Segment], scores: dict[str, float], source: Source) -> float | None:
    from .roles import confidence_from_gap

    score = next(iter(scores.values()), 0.0)
    confidence = confidence_from_gap(score)
    role = "rep" if score > 0 else "customer"
    if confidence < SINGLE_SPEAKER_CONFIDENCE:
        role, confidence = "unknown", None
    for segment in segments:
        segment.role = role
    return None if confidence is None else round(confidence, 2)


def _guess(turns: list[tuple[str, str]], source: Source):
    from .config import models_dir
    from .roles import guess_rep, load_cues

    return guess_rep(turns, load_cues(models_dir() / "roles.yaml"), source.rep)


def _set_rep(segments: list[Segment], rep: str) -> None:
    for segment in segments:
        segment.role = "rep" if segment.speaker == rep else "customer"


def _match_name(rep: str, speakers: set[str]) -> str | None:
    """The speaker label that names the rep: the exact label, "2" for "Speaker 2", the full
    name, or the first name alone."""
    wanted = " ".join(rep.strip().lower().split())
    if not wanted:
        return None
    labels = {speaker: " ".join(speaker.strip().lower().split()) for speaker in sorted(speakers)}
    for speaker, label in labels.items():
        if label == wanted or (wanted.isdigit() and label == f"speaker {wanted}"):
            return speaker
    first = wanted.split()[0]
    if first == "speaker":  # "Speaker 3" must not fall back to "Speaker 1"
        return None
    for speaker, label in labels.items():
        if label == first or label.split()[:1] == [first]:
            return speaker
    return None
