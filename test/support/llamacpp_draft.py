"""llama.cpp (llama-cpp-python) running LayerSkip's exported GGUF draft: the independent side of the export tests.

    python llamacpp_draft.py TARGET.gguf DRAFT.gguf REQUEST.json

REQUEST: {"prompts": [str], "max_tokens": int, "draft_tokens": int, "logit_tokens": [int], "top_k": int}
Prints one JSON object:
  plain:        greedy completions of the target alone
  speculative:  greedy completions of the target with the draft as llama.cpp's draft model (drafts verified by the
                target; the output must be the target's own)
  drafted / accepted: draft tokens proposed and kept by the target over all prompts
  draft_logits: for logit_tokens teacher-forced through the draft GGUF alone, the top_k (id, logit) at each position
"""
import json
import sys

import numpy as np
from llama_cpp import Llama
from llama_cpp.llama_speculative import LlamaDraftModel


class EarlyExitDraft(LlamaDraftModel):
    """Greedy drafts from a second llama.cpp model (the exported early exit), continuing the target's tokens."""

    def __init__(self, model: Llama, draft_tokens: int):
        self.model = model
        self.draft_tokens = draft_tokens
        self.drafted = 0

    def __call__(self, input_ids, /, **kwargs):
        drafts = []
        # generate() re-uses the longest cached prefix of input_ids, so each call evaluates only the new tokens
        for token in self.model.generate(list(map(int, input_ids)), top_k=1, temp=0.0, reset=True):
            drafts.append(token)
            if len(drafts) == self.draft_tokens:
                break
        self.drafted += len(drafts)
        return np.array(drafts, dtype=np.intc)


def complete(model: Llama, prompts, max_tokens):
    return [model.create_completion(p, max_tokens=max_tokens, temperature=0.0, top_k=1)["choices"][0]["text"] for p in prompts]


def main():
    target_file, draft_file, request_file = sys.argv[1:4]
    with open(request_file, encoding="utf-8") as f:
        request = json.load(f)
    common = dict(n_ctx=1024, n_threads=2, n_batch=256, verbose=False, seed=0)
    plain = complete(Llama(model_path=target_file, **common), request["prompts"], request["max_tokens"])

    draft = EarlyExitDraft(Llama(model_path=draft_file, **common), request["draft_tokens"])
    target = Llama(model_path=target_file, draft_model=draft, **common)
    speculative = complete(target, request["prompts"], request["max_tokens"])

    scorer = Llama(model_path=draft_file, logits_all=True, **common)
    scorer.eval(request["logit_tokens"])
    top_k = request["top_k"]
    draft_logits = []
    for row in np.asarray(scorer.scores[: len(request["logit_tokens"])]):
        ids = np.argsort(-row, kind="stable")[:top_k]
        draft_logits.append([{"id": int(i), "logit": float(row[i])} for i in ids])

    json.dump({"plain": plain, "speculative": speculative, "drafted": draft.drafted, "draft_logits": draft_logits}, sys.stdout)


if __name__ == "__main__":
    main()
