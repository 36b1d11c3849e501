"""Who said it: speaker names and rep/customer roles for each segment.

Dual-channel calls get their roles from the channel layout (``--rep-channel``). Imported
transcripts get them from the manifest's rep name when a speaker carries it. Mono audio
stays a single unknown speaker until mono separation lands.
"""

from __future__ import annotations

from .schema import Segment, Source, Transcript

CHANNEL_INDEX = {"left": 0, "right": 1}


def separate_speakers(audio, segments: list[Segment]) -> list[Segment]:
    """Runs in the transcription worker, where the audio is at hand.

    Not done yet: mono calls stay one speaker and stereo crosstalk is not removed
    (the speaker-separation issue builds this).
    """
    return segments


def assign_roles(transcript: Transcript, source: Source, rep_channel: str = "left",
                 rep_speaker: str | None = None) -> float | None:
    """Set ``speaker`` and ``role`` on every segment; return the call's role confidence."""
    if rep_speaker and transcript.channels != "stereo":
        return _forced(transcript, rep_speaker)
    if transcript.channels == "stereo":
        return _by_channel(transcript, source, CHANNEL_INDEX[rep_channel])
    if transcript.channels == "transcript":
        return _by_rep_name(transcript, source)
    for segment in transcript.segments:
        segment.speaker, segment.role = "Speaker", "unknown"
    return None


def _forced(transcript: Transcript, rep_speaker: str) -> float | None:
    """The user said which speaker is the rep (``--rep-speaker``)."""
    rep = _match_name(rep_speaker, {s.speaker for s in transcript.segments})
    if rep is None:
        return None
    for segment in transcript.segments:
        segment.role = "rep" if segment.speaker == rep else "customer"
    return 1.0


def _by_channel(transcript: Transcript, source: Source, rep_index: int) -> float:
    rep_name = source.rep or "Rep"
    for segment in transcript.segments:
        is_rep = segment.channel == rep_index
        segment.speaker = rep_name if is_rep else "Customer"
        segment.role = "rep" if is_rep else "customer"
    # The channel layout is configuration, not a guess.
    return 1.0


def _by_rep_name(transcript: Transcript, source: Source) -> float | None:
    speakers = {s.speaker for s in transcript.segments}
    rep = _match_name(source.rep, speakers) if source.rep else None
    if rep is None:
        # Keep roles a transcript file already carried (our own JSON does).
        known = any(s.role in ("rep", "customer") for s in transcript.segments)
        if not known:
            for segment in transcript.segments:
                segment.role = "unknown"
        return 1.0 if known else None
    for segment in transcript.segments:
        segment.role = "rep" if segment.speaker == rep else "customer"
    return 1.0


def _match_name(rep: str, speakers: set[str]) -> str | None:
    """The speaker label that names the rep: full name, or first name alone."""
    wanted = rep.strip().lower()
    first = wanted.split()[0] if wanted.split() else wanted
    for speaker in sorted(speakers):
        label = speaker.strip().lower()
        if label == wanted or label == first or label.split()[:1] == [first]:
            return speaker
    return None
