"""Who spoke when in one channel of audio, decided per transcribed word.

Whisper already tells us where the words are, so the work here is only to tell voices apart:

1. Features, for the frames inside words only: 19 MFCCs (timbre) and the pitch (F0) from the
   same FFT, 40 ms windows every 20 ms. Quiet frames inside a word (closures, pauses) carry
   the noise floor rather than the voice and are dropped.
2. First guesses: words are grouped into short runs (a pause ends a run) and the runs are
   clustered on their mean and spread of MFCCs and their pitch, several ways (Ward linkage,
   k-means from three seeds, pitch alone), because with similar voices any one of them can
   lock onto content instead of voices.
3. Refinement: a full-covariance Gaussian per speaker over frames plus a Gaussian over the
   word's pitch; every word is scored against each speaker and a Viterbi pass over the words
   keeps a speaker until the evidence says otherwise. A switch costs more mid-phrase than
   after a pause. Each guess gets one round; the most coherent one (see 4) gets three more.
4. How many speakers: a split is kept only when its speakers are *coherent in time* (words
   next to each other are mostly scored to the same speaker before any smoothing) and each
   one has enough speech. Splitting one voice along phonetic content gives clusters that
   alternate word by word, so one voice stays one voice; a third speaker must pass the same
   test against the two-speaker answer.

numpy and scipy.fft only; no model files, no network. Cost is a fraction of Whisper's on the
same audio (the benchmark in ``bench/speakers.py`` reports it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
_WIN = 640  # 40 ms: long enough for the autocorrelation of a 70 Hz voice
_HOP = 320  # 20 ms
_NFFT = 1024
_N_MELS = 32
_N_MFCC = 19  # c1..c19; c0 (loudness) says nothing about who is talking
_F0_RANGE = (70.0, 400.0)
_VOICED = 0.45  # normalised autocorrelation peak above which a frame counts as voiced
_FLOOR_DB = 35.0  # frames this far below the loud end of the speech are silence


@dataclass(frozen=True)
class DiarizeOptions:
    """Settings for ``word_speakers``; the defaults were tuned on ``bench/speakers.py``."""

    max_speakers: int = 3
    #: least share of the call's speech (seconds) a speaker must have to exist at all
    min_share: float = 0.05
    #: least speech, in seconds, for a second (or third) speaker
    min_seconds: float = 4.0
    #: least number of separate turns for every speaker
    min_turns: int = 2
    #: least share of a speaker's frames with a pitch (speech is 40-80% voiced; noise ~0)
    min_voiced: float = 0.25
    #: least temporal coherence (0..1, chance-corrected agreement of neighbouring words)
    min_coherence: float = 0.7
    #: a third speaker must be clearly coherent too
    min_coherence_extra: float = 0.85
    #: and its voice must differ from each of the others: mean log-likelihood ratio per
    #: frame between its own model and the nearest other speaker's
    min_separation_extra: float = 3.0
    #: Viterbi cost of a speaker change right after a word, and after a long pause
    switch_cost: float = 6.0
    switch_cost_after_pause: float = 1.5
    #: weight of the frame evidence of one word (frames are not independent)
    frame_weight: float = 0.5
    #: rounds of re-estimation after the first guess
    rounds: int = 3


@dataclass
class _Words:
    """Per-word evidence: frame features and pitch."""

    spans: np.ndarray  # (n, 2) seconds
    frames: np.ndarray  # (m, d) MFCC of kept frames, all words together
    owner: np.ndarray  # (m,) word index of each kept frame
    pitch: np.ndarray  # (n,) median log F0 of the word's voiced frames (nan: none)
    weight: np.ndarray  # (n,) kept frames per word
    voiced: np.ndarray  # (m,) whether each kept frame has a pitch

    def __len__(self) -> int:
        return len(self.spans)


def word_speakers(samples: np.ndarray, spans: list[tuple[float, float]],
                  options: DiarizeOptions = DiarizeOptions()) -> list[int]:
    """Speaker number (0, 1, ... in order of first appearance) for each word span.

    ``samples`` is one channel of 16 kHz int16 audio; ``spans`` are the words' (start, end)
    in seconds, in time order.
    """
    if len(spans) == 0:
        return []
    with _single_threaded_blas():
        words = _word_features(samples, np.asarray(spans, dtype=float))
        labels = _best_labels(words, options)
    return _in_order_of_appearance(labels)


def _single_threaded_blas():
    """The matrices here are small (19 columns): BLAS threads cost more than they save,
    several times over on a busy machine."""
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


# -- features ------------------------------------------------------------------------------

def _word_features(samples: np.ndarray, spans: np.ndarray) -> _Words:
    starts, owner = _frame_starts(spans, len(samples))
    mfcc, loud, f0 = _frame_features(samples, starts)
    # Pauses inside a word's span carry the noise floor, not the voice: keep frames within
    # ``_FLOOR_DB`` of the loud end of the speech.
    keep = loud > np.percentile(loud, 90) - _FLOOR_DB / 10 * np.log(10) if len(loud) else np.zeros(0, bool)
    n = len(spans)
    pitch = np.full(n, np.nan)
    voiced = keep & np.isfinite(f0)
    if voiced.any():
        order = np.argsort(owner[voiced], kind="stable")
        by_word = np.split(np.log(f0[voiced][order]), np.cumsum(np.bincount(owner[voiced], minlength=n))[:-1])
        pitch = np.array([np.median(v) if len(v) >= 2 else np.nan for v in by_word])
    weight = np.bincount(owner[keep], minlength=n).astype(float)
    return _Words(spans, mfcc[keep], owner[keep], pitch, weight, np.isfinite(f0[keep]))


def _frame_starts(spans: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray]:
    """Sample offsets of the analysis frames centred inside each word, and their word."""
    starts, owner = [], []
    for index, (lo, hi) in enumerate(spans):
        first = int(lo * SAMPLE_RATE) - _WIN // 2
        last = min(int(hi * SAMPLE_RATE) - _WIN // 2, total - _WIN)
        if last < max(first, 0):
            continue
        offsets = np.arange(max(first, 0), last + 1, _HOP)
        starts.append(offsets)
        owner.append(np.full(len(offsets), index))
    if not starts:
        return np.zeros(0, int), np.zeros(0, int)
    return np.concatenate(starts), np.concatenate(owner)


def _frame_features(samples: np.ndarray, starts: np.ndarray, block: int = 4096):
    """MFCCs, log energy and F0 (nan where unvoiced) of the frames at ``starts``."""
    from scipy import fft  # several times faster than numpy's for float32 frames

    mel = _mel_filters()
    dct = _dct_matrix()
    window = np.hanning(_WIN).astype(np.float32)
    pitch = _PitchTrack(window)
    offsets = np.arange(-1, _WIN)[None, :]  # one sample before each frame, for pre-emphasis
    mfcc, loud, f0 = [], [], []
    for lo in range(0, len(starts), block):
        # A block at a time, so a long call is never held as float32 whole.
        raw = samples[np.maximum(starts[lo : lo + block, None] + offsets, 0)].astype(np.float32) * np.float32(1 / 32768)
        frames = (raw[:, 1:] - np.float32(0.97) * raw[:, :-1]) * window  # pre-emphasis, undone for the pitch
        power = np.abs(fft.rfft(frames, _NFFT, axis=1)) ** 2
        mfcc.append(np.log(power @ mel.T + 1e-10) @ dct)
        loud.append(np.log(power.sum(axis=1) + 1e-10))
        f0.append(pitch(power, fft))
    if not mfcc:
        return np.zeros((0, _N_MFCC), np.float32), np.zeros(0), np.zeros(0)
    return np.concatenate(mfcc).astype(np.float32), np.concatenate(loud), np.concatenate(f0)


class _PitchTrack:
    """F0 from the autocorrelation of the frame's low band (below 1 kHz).

    The autocorrelation is the inverse FFT of the power spectrum we already have for the
    MFCCs. Only the band below 1 kHz is kept (the harmonics that carry the period), which
    lets the inverse FFT run at a quarter of the sample rate and then be interpolated."""

    DECIMATE = 4
    BAND_HZ = 1000.0

    def __init__(self, window: np.ndarray):
        bins = _NFFT // 2 + 1
        omega = np.linspace(0, np.pi, bins)
        emphasis = 1 - 1.94 * np.cos(omega) + 0.9409  # |1 - 0.97 e^-jw|^2
        self.n = _NFFT // self.DECIMATE
        keep = int(self.BAND_HZ / (SAMPLE_RATE / _NFFT)) + 1
        self.weight = np.zeros(self.n // 2 + 1, np.float32)
        self.weight[3:keep] = 1.0 / emphasis[3:keep]  # no DC: it looks like a very long period
        self.lo = int(SAMPLE_RATE / _F0_RANGE[1] / self.DECIMATE)
        self.hi = int(np.ceil(SAMPLE_RATE / _F0_RANGE[0] / self.DECIMATE))
        full = np.fft.irfft(np.abs(np.fft.rfft(window, _NFFT)) ** 2)
        self.window_ac = (full / full[0])[:: self.DECIMATE][: self.hi + 2]

    def __call__(self, power: np.ndarray, fft) -> np.ndarray:
        band = power[:, : self.n // 2 + 1] * self.weight
        ac = fft.irfft(band, self.n, axis=1)[:, : self.hi + 2]
        norm = ac / np.maximum(self.window_ac, 1e-3) / np.maximum(ac[:, :1], 1e-12)
        lags = norm[:, self.lo : self.hi + 1]
        peak = lags.max(axis=1)
        # The shortest lag nearly as strong as the best: the period, not a multiple of it.
        first = (lags >= 0.9 * peak[:, None]).argmax(axis=1) + self.lo
        rows = np.arange(len(norm))
        left, mid, right = norm[rows, first - 1], norm[rows, first], norm[rows, first + 1]
        curve = left - 2 * mid + right
        shift = np.where(curve < 0, 0.5 * (left - right) / np.where(curve < 0, curve, -1), 0.0)
        lag = (first + np.clip(shift, -0.5, 0.5)) * self.DECIMATE
        f0 = SAMPLE_RATE / lag
        f0[(peak < _VOICED) | (ac[:, 0] <= 0)] = np.nan
        return f0


def _dct_matrix() -> np.ndarray:
    """Orthonormal DCT-II from log mel energies to cepstral coefficients c1..c19."""
    k = np.arange(1, _N_MFCC + 1)[None, :]
    i = np.arange(_N_MELS)[:, None]
    return (np.sqrt(2 / _N_MELS) * np.cos(np.pi * k * (2 * i + 1) / (2 * _N_MELS))).astype(np.float32)


def _mel_filters() -> np.ndarray:
    def mel(f):
        return 2595 * np.log10(1 + f / 700)

    def hz(m):
        return 700 * (10 ** (m / 2595) - 1)

    edges = hz(np.linspace(mel(60), mel(7600), _N_MELS + 2))
    bins = np.linspace(0, SAMPLE_RATE / 2, _NFFT // 2 + 1)
    filters = np.zeros((_N_MELS, len(bins)), np.float32)
    for i in range(_N_MELS):
        left, centre, right = edges[i : i + 3]
        rise = (bins - left) / (centre - left)
        fall = (right - bins) / (right - centre)
        filters[i] = np.maximum(0, np.minimum(rise, fall))
    return filters


# -- clustering ------------------------------------------------------------------------------

def _best_labels(words: _Words, options: DiarizeOptions) -> np.ndarray:
    one = np.zeros(len(words), int)
    usable = words.weight >= 2
    if usable.sum() < 6 or len(words.frames) < 100:
        return one
    best, best_k, last = one, 1, 1.0
    for k in range(2, options.max_speakers + 1):
        labels, coherence = _fit(words, k, options)
        if labels is None:  # no split with enough speech on every side
            break
        log.debug("%d speakers: coherence %.2f", k, coherence)
        if k == 2:
            clear = coherence >= options.min_coherence
        else:  # an extra speaker: as coherent as the answer without it, and a voice apart
            clear = (coherence >= options.min_coherence_extra and coherence >= min(last, 1.0) - 0.08
                     and _separation(words, labels, k) >= options.min_separation_extra)
        # A k that fails (say, two voices of three merged into one) does not stop k + 1.
        if clear and _comes_back(words, labels, k):
            best, best_k, last = labels, k, coherence
    log.debug("kept %d speaker(s)", best_k)
    return best


def _fit(words: _Words, k: int, options: DiarizeOptions) -> tuple[np.ndarray | None, float]:
    """The best ``k``-speaker labelling and its coherence.

    Several first guesses are each refined once; the most coherent goes on to the full
    number of rounds. A single guess can lock onto content (vowels against consonants,
    questions against statements) when the voices are alike; refinement from a start
    near the speakers moves towards them, and coherence tells the two apart."""
    best: tuple[float, np.ndarray] | None = None
    for guess in _first_guesses(words, k):
        refined = _refine(words, guess, k, options, 1)
        if refined is None or not _big_enough(words, refined[0], k, options):
            continue
        if best is None or refined[1] > best[0]:
            best = (refined[1], refined[0])
    if best is None:
        return None, 0.0
    refined = _refine(words, best[1], k, options, options.rounds)
    if refined is None or not _big_enough(words, refined[0], k, options):
        return None, 0.0
    return refined


def _refine(words: _Words, labels: np.ndarray, k: int, options: DiarizeOptions,
            rounds: int) -> tuple[np.ndarray, float] | None:
    raw = labels
    for _ in range(rounds):
        models = _speaker_models(words, labels, k)
        if models is None:
            return None
        scores = _word_scores(words, models)
        raw = scores.argmax(axis=1)
        labels = _viterbi(scores * options.frame_weight, words.spans, options)
    return labels, _coherence(raw, words.spans, words.weight)


def _first_guesses(words: _Words, k: int):
    """Starting points: Ward on runs of speech, k-means from a few seeds, and pitch alone."""
    runs = _runs(words.spans)
    emb, frames = _run_embeddings(words, runs)
    good = ~np.isnan(emb).any(axis=1)
    if good.sum() < 2 * k:
        return
    placed = np.flatnonzero(good)
    emb = emb[good]
    emb = (emb - emb.mean(axis=0)) / (emb.std(axis=0) + 1e-6)
    ward = _ward(emb, frames[good], k)
    if ward is not None:
        yield _spread(placed, ward, runs, len(words))
    for seed in range(3):
        yield _spread(placed, _kmeans(emb, k, seed), runs, len(words))
    yield _spread(placed, _kmeans(emb[:, -1:], k, 0), runs, len(words))  # the last column is pitch


def _kmeans(x: np.ndarray, k: int, seed: int, rounds: int = 30) -> np.ndarray:
    """k-means with k-means++ seeding."""
    rng = np.random.default_rng(seed)
    centres = x[[rng.integers(len(x))]]
    for _ in range(1, k):
        nearest = ((x[:, None, :] - centres[None]) ** 2).sum(axis=2).min(axis=1)
        if nearest.sum() <= 0:
            break
        centres = np.vstack([centres, x[rng.choice(len(x), p=nearest / nearest.sum())]])
    labels = np.zeros(len(x), int)
    for _ in range(rounds):
        labels = ((x[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
        moved = np.array([x[labels == c].mean(axis=0) if (labels == c).any() else centres[c]
                          for c in range(len(centres))])
        if np.allclose(moved, centres):
            break
        centres = moved
    return labels


def _ward(emb: np.ndarray, frames: np.ndarray, k: int, most: int = 400) -> np.ndarray | None:
    """Ward clustering into ``k`` groups, ignoring small outlier groups.

    Ward readily spends a cluster on a handful of odd runs (a cough, a shout); cutting the
    tree a little lower and folding the small groups into their nearest large one keeps
    the ``k`` groups that hold most of the speech. Past ``most`` runs, the longest ones are
    clustered and the rest join the nearest group."""
    chosen = np.sort(np.argsort(-frames, kind="stable")[:most])
    levels = _ward_levels(emb[chosen], k, k + 7)
    for cut in range(k, k + 8):
        if cut not in levels:
            continue
        clusters = levels[cut]
        size = np.bincount(clusters, weights=frames[chosen])
        large = np.flatnonzero(size >= 0.05 * size.sum())
        if len(large) < k:
            continue
        if len(large) > k:
            return None
        centres = np.array([emb[chosen][clusters == c].mean(axis=0) for c in large])
        return ((emb[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
    return None


def _ward_levels(x: np.ndarray, lowest: int, highest: int) -> dict[int, np.ndarray]:
    """Agglomerative Ward clustering (Lance-Williams updates); the labels at each number of
    clusters from ``highest`` down to ``lowest``."""
    n = len(x)
    cost = ((x[:, None, :] - x[None]) ** 2).sum(axis=2)
    np.fill_diagonal(cost, np.inf)
    size = np.ones(n)
    members = np.arange(n)
    levels: dict[int, np.ndarray] = {}
    for count in range(n, lowest - 1, -1):
        if count <= highest:
            levels[count] = np.unique(members, return_inverse=True)[1]
        if count == lowest:
            break
        i, j = divmod(int(np.argmin(cost)), n)
        merged = ((size[i] + size) * cost[i] + (size[j] + size) * cost[j] - size * cost[i, j]) / (size[i] + size[j] + size)
        cost[i, :] = cost[:, i] = merged
        cost[i, i] = np.inf
        cost[j, :] = cost[:, j] = np.inf
        size[i] += size[j]
        members[members == j] = i
    return levels


def _spread(placed: np.ndarray, clusters: np.ndarray, runs: list[tuple[int, int]], n: int) -> np.ndarray:
    """Word labels from the labels of the placed runs; the other runs' words take the
    nearest placed word's label."""
    run_label = np.full(len(runs), -1)
    run_label[placed] = clusters
    labels = np.full(n, -1)
    for r, (lo, hi) in enumerate(runs):
        labels[lo:hi] = run_label[r]
    known = np.flatnonzero(labels >= 0)
    if 0 < len(known) < n:
        after = np.clip(np.searchsorted(known, np.arange(n)), 0, len(known) - 1)
        before = np.clip(after - 1, 0, len(known) - 1)
        closer = np.where(np.abs(known[before] - np.arange(n)) <= np.abs(known[after] - np.arange(n)), before, after)
        labels = labels[known[closer]]
    return labels


def _runs(spans: np.ndarray, pause: float = 0.2, longest: float = 2.5) -> list[tuple[int, int]]:
    """Words grouped into runs of speech: a pause or length limit ends a run."""
    runs, start = [], 0
    for i in range(1, len(spans) + 1):
        if i == len(spans) or spans[i, 0] - spans[i - 1, 1] > pause or spans[i, 1] - spans[start, 0] > longest:
            runs.append((start, i))
            start = i
    return runs


def _run_embeddings(words: _Words, runs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Per run: mean and spread of the MFCCs and the median pitch; and its frame count."""
    run_of_word = np.zeros(len(words), int)
    for r, (lo, hi) in enumerate(runs):
        run_of_word[lo:hi] = r
    run = run_of_word[words.owner]  # non-decreasing: frames are in word order
    count = np.bincount(run, minlength=len(runs)).astype(float)
    d = words.frames.shape[1]
    total = np.zeros((len(runs), d))
    square = np.zeros((len(runs), d))
    present = np.flatnonzero(count)
    if len(present):
        cuts = np.searchsorted(run, present)
        x = words.frames.astype(float)
        total[present] = np.add.reduceat(x, cuts, axis=0)
        square[present] = np.add.reduceat(x * x, cuts, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count[:, None]
        std = np.sqrt(np.maximum(square / count[:, None] - mean**2, 0))
    pitch = np.array([np.nanmedian(words.pitch[lo:hi]) if np.isfinite(words.pitch[lo:hi]).any() else np.nan
                      for lo, hi in runs])
    if np.isnan(pitch).all():
        pitch = np.zeros(len(runs))
    pitch = np.where(np.isnan(pitch), np.nanmedian(pitch), pitch)
    emb = np.column_stack([mean, 0.5 * std, 3.0 * pitch[:, None]])
    emb[count < 5] = np.nan
    return emb, count


@dataclass
class _Speaker:
    mean: np.ndarray
    whiten: np.ndarray  # inverse of the covariance's Cholesky factor
    logdet: float
    pitch_mean: float
    pitch_sd: float


def _speaker_models(words: _Words, labels: np.ndarray, k: int) -> list[_Speaker] | None:
    frame_label = labels[words.owner]
    models = []
    for s in range(k):
        x = words.frames[frame_label == s].astype(np.float64)
        frames = _gaussian(len(x), x.sum(axis=0), x.T @ x)
        if frames is None:
            return None
        p = words.pitch[(labels == s) & np.isfinite(words.pitch)]
        pm, ps = (float(np.mean(p)), float(max(np.std(p), 0.05))) if len(p) >= 3 else (0.0, np.inf)
        models.append(_Speaker(*frames, pm, ps))
    return models


def _gaussian(n: int, total: np.ndarray, outer: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
    """(mean, whitening matrix, log-determinant) of a full-covariance Gaussian from the
    frame count, sum and sum of outer products; None with too few frames."""
    d = len(total)
    if n < 2 * d:
        return None
    mean = total / n
    cov = outer / n - np.outer(mean, mean)
    # Little speech: lean towards a diagonal covariance, which needs fewer frames.
    shrink = min(1.0, 2.0 * d / n)
    cov = (1 - shrink) * cov + shrink * np.diag(np.diag(cov)) + 1e-3 * np.eye(d)
    chol = np.linalg.cholesky(cov)
    return mean.astype(np.float32), np.linalg.inv(chol).astype(np.float32), 2 * float(np.log(np.diag(chol)).sum())


def _word_scores(words: _Words, models: list[_Speaker]) -> np.ndarray:
    """Log-likelihood of each word under each speaker: its frames plus its pitch."""
    n, k = len(words), len(models)
    scores = np.zeros((n, k))
    for s, m in enumerate(models):
        z = (words.frames - m.mean) @ m.whiten.T
        frame_ll = -0.5 * (np.einsum("ij,ij->i", z, z) + m.logdet)
        scores[:, s] = np.bincount(words.owner, weights=frame_ll, minlength=n)
    # Per-word mean times a capped frame count: long words should not drown the prior.
    per_frame = scores / np.maximum(words.weight, 1)[:, None]
    per_frame -= per_frame.max(axis=1, keepdims=True)
    scores = per_frame * np.minimum(words.weight, 20)[:, None]
    has_pitch = np.isfinite(words.pitch)
    for s, m in enumerate(models):
        if np.isfinite(m.pitch_sd):
            zp = (words.pitch[has_pitch] - m.pitch_mean) / m.pitch_sd
            scores[has_pitch, s] += -0.5 * zp**2 - np.log(m.pitch_sd)
    return scores


def _viterbi(scores: np.ndarray, spans: np.ndarray, options: DiarizeOptions) -> np.ndarray:
    """The likeliest speaker sequence when a change of speaker costs ``switch_cost``
    (less after a pause). Plain Python: for 2-3 speakers it beats numpy's per-call overhead."""
    gaps = np.concatenate([[0.0], np.maximum(spans[1:, 0] - spans[:-1, 1], 0)])
    costs = (options.switch_cost_after_pause
             + (options.switch_cost - options.switch_cost_after_pause) * np.exp(-gaps / 0.25)).tolist()
    rows = scores.tolist()
    k = scores.shape[1]
    best = rows[0]
    back = []
    for row, cost in zip(rows[1:], costs[1:]):
        top = max(range(k), key=best.__getitem__)
        switch = best[top] - cost
        came = [s if best[s] >= switch else top for s in range(k)]
        best = [max(best[s], switch) + row[s] for s in range(k)]
        back.append(came)
    label = max(range(k), key=best.__getitem__)
    labels = [label]
    for came in reversed(back):
        label = came[label]
        labels.append(label)
    return np.array(labels[::-1])


def _separation(words: _Words, labels: np.ndarray, k: int) -> float:
    """How far apart the closest two speakers' voices are: the mean per-frame log-likelihood
    ratio of a speaker's frames under its own model against another's (the smallest pair)."""
    models = _speaker_models(words, labels, k)
    if models is None:
        return 0.0
    frame_label = labels[words.owner]
    loglik = np.empty((len(words.frames), k))
    for s, m in enumerate(models):
        z = (words.frames - m.mean) @ m.whiten.T
        loglik[:, s] = -0.5 * (np.einsum("ij,ij->i", z, z) + m.logdet)
    own = [loglik[frame_label == s].mean(axis=0) for s in range(k)]
    return float(min(own[s][s] - own[s][t] for s in range(k) for t in range(k) if s != t))


def _coherence(raw: np.ndarray, spans: np.ndarray, weight: np.ndarray, pause: float = 0.3) -> float:
    """Chance-corrected agreement of neighbouring words' unsmoothed speakers (Cohen's kappa).

    Only pairs within a run of speech count; turns change at pauses, content does not."""
    gaps = spans[1:, 0] - spans[:-1, 1]
    pair = (gaps <= pause) & (weight[1:] >= 2) & (weight[:-1] >= 2)
    if pair.sum() < 5:
        return 0.0
    a, b = raw[:-1][pair], raw[1:][pair]
    observed = float(np.mean(a == b))
    shares = np.bincount(raw, minlength=raw.max() + 1) / len(raw)
    chance = float(np.sum(shares**2))
    return (observed - chance) / (1 - chance) if chance < 1 else 0.0


def _comes_back(words: _Words, labels: np.ndarray, k: int, most: int = 6) -> bool:
    """Each speaker's turns recognise each other: a turn left out of its speaker's model
    still sounds most like that speaker (checked on up to ``most`` turns per speaker).

    A voice split in two by content or by a couple of odd phrases fails this, because its
    held-out stretches sound as much like the rest of the voice as like each other."""
    starts = np.flatnonzero(np.concatenate([[True], labels[1:] != labels[:-1]]))
    ends = np.append(starts[1:], len(labels))
    frame_label = labels[words.owner]
    stats = []
    for s in range(k):
        x = words.frames[frame_label == s].astype(np.float64)
        stats.append((len(x), x.sum(axis=0), x.T @ x))
    models = [_gaussian(*stat) for stat in stats]
    if any(m is None for m in models):
        return False
    for s in range(k):
        turns = [(lo, hi) for lo, hi in zip(starts, ends) if labels[lo] == s]
        if len(turns) < 2:
            return False
        picked = [turns[i] for i in np.unique(np.linspace(0, len(turns) - 1, min(most, len(turns))).astype(int))]
        right = 0
        for lo, hi in picked:
            x = words.frames[(words.owner >= lo) & (words.owner < hi)].astype(np.float64)
            n, total, outer = stats[s]
            without = _gaussian(n - len(x), total - x.sum(axis=0), outer - x.T @ x)
            if without is None:
                continue
            fit = [_loglik(x, *(without if t == s else models[t])) for t in range(k)]
            right += int(np.argmax(fit) == s)
        if right < max(2, int(np.ceil(0.75 * len(picked)))):
            return False
    return True


def _loglik(x: np.ndarray, mean: np.ndarray, whiten: np.ndarray, logdet: float) -> float:
    z = (x - mean) @ whiten.T
    return float(-0.5 * (np.einsum("ij,ij->", z, z) + len(x) * logdet))


def _big_enough(words: _Words, labels: np.ndarray, k: int, options: DiarizeOptions) -> bool:
    """Every speaker has enough speech, in enough separate turns, and is mostly voiced.

    One voice can hold a phrase or two that sound unlike the rest (a laugh, a list read out);
    a second speaker in a conversation comes back turn after turn. Hiss or a fan that
    Whisper took for words has almost no pitch, so it never becomes a speaker."""
    seconds = np.bincount(labels, weights=words.spans[:, 1] - words.spans[:, 0], minlength=k)
    starts = np.concatenate([[True], labels[1:] != labels[:-1]])
    turns = np.bincount(labels[starts], minlength=k)
    frame_label = labels[words.owner]
    voiced = np.bincount(frame_label, weights=words.voiced, minlength=k) / np.maximum(np.bincount(frame_label, minlength=k), 1)
    return bool(seconds.min() >= options.min_seconds and seconds.min() >= options.min_share * seconds.sum()
                and turns.min() >= options.min_turns and voiced.min() >= options.min_voiced)


def _in_order_of_appearance(labels: np.ndarray) -> list[int]:
    order: dict[int, int] = {}
    for label in labels:
        order.setdefault(int(label), len(order))
    return [order[int(label)] for label in labels]
