"""llama.cpp (llama-cpp-python) as the oracle of a GGUF's logits: the independent side of the GGUF import test.

    python llamacpp_logits.py MODEL.gguf REQUEST.json

REQUEST: {"tokens": [int], "top_k": int}. Prints {"positions": [[{"id", "logit"}, ...]]}: the top_k logits after each
token, the tokens teacher-forced in one pass.
"""
import json
import sys

import numpy as np
from llama_cpp import Llama
from llamacpp_draft import top


def main():
    model_file, request_file = sys.argv[1:3]
    with open(request_file, encoding="utf-8") as f:
        request = json.load(f)
    model = Llama(model_path=model_file, n_ctx=512, n_threads=2, logits_all=True, verbose=False, seed=0)
    model.eval(request["tokens"])
    positions = []
    for row in model.scores[: len(request["tokens"])]:
        positions.append(top(np.asarray(row), request["top_k"]))
    json.dump({"positions": positions}, sys.stdout)


if __name__ == "__main__":
    main()
