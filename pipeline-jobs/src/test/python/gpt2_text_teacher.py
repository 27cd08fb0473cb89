#!/usr/bin/env python3
"""Builds the tiny GPT-2 of gpt2_lm_teacher.py over a vocabulary of V ids (a text transfer set's character
vocabulary) and exports it to ONNX twice, for the label job's LM tests. Nothing is downloaded.

Usage: gpt2_text_teacher.py V POSITIONS CONTEXT OUT_DIR

Writes into OUT_DIR:
  gpt2_dynamic.onnx   input_ids and attention_mask (int64 [batch, sequence], symbolic), logits [batch, sequence, V];
                      POSITIONS positions
  gpt2_fixed.onnx     input_ids int64 [2, CONTEXT] (every axis fixed), logits: a teacher with a fixed context
Exit status 3 when torch, onnxscript or transformers are missing (as gpt2_lm_teacher.py).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_lm_teacher as g  # noqa: E402  (exits with status 3 when the packages are missing)


def main(argv):
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    g.VOCABULARY, g.POSITIONS, g.CONTEXT = int(argv[1]), int(argv[2]), int(argv[3])
    out = argv[4]
    os.makedirs(out, exist_ok=True)
    model = g.tiny_gpt2()
    g.export_dynamic(model, f"{out}/gpt2_dynamic.onnx")
    g.export_fixed(model, f"{out}/gpt2_fixed.onnx")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
