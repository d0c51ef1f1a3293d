"""llama.cpp (llama-cpp-python) running LayerSkip's exported GGUF draft: the independent side of the export tests.

    python llamacpp_draft.py TARGET.gguf DRAFT.gguf REQUEST.json

REQUEST: {"prompts": [str], "max_tokens": int, "draft_tokens": int, "logit_tokens": [int], "top_k": int}
Prints one JSON object:
  runs:         per prompt, the greedy token ids of the target alone ("plain") and of the target with the draft as
                llama.cpp's draft model ("speculative": drafts verified by the target), and where they first differ,
                the target's logits for both tokens there ("divergence"; null when identical). llama.cpp's kernels
                round a row differently in a batch of several (a verification pass) than alone (plain decoding), so
                a near-tie may flip; a real error would not be a near-tie. "argmax": how many speculative tokens
                are the target's top token with prompt + speculative output teacher-forced in one pass, "max_margin":
                the largest gap between the top logit and a speculative token's there.
  drafted:      draft tokens proposed over all prompts
  draft_logits: for logit_tokens teacher-forced through the draft GGUF alone, the top_k (id, logit) at each position
"""
import json
import sys

import numpy as np
from llama_cpp import Llama
from llama_cpp.llama_speculative import LlamaDraftModel

COMMON = dict(n_ctx=1024, n_threads=2, verbose=False, seed=0)


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


def greedy(model: Llama, prompt_tokens, max_tokens):
    tokens = []
    for token in model.generate(prompt_tokens, top_k=1, temp=0.0, reset=True):
        if token == model.token_eos() or len(tokens) == max_tokens:
            break
        tokens.append(int(token))
    return tokens


def top(row, k):
    ids = np.argsort(-row, kind="stable")[:k]
    return [{"id": int(i), "logit": float(row[i])} for i in ids]


def main():
    target_file, draft_file, request_file = sys.argv[1:4]
    with open(request_file, encoding="utf-8") as f:
        request = json.load(f)
    plain_model = Llama(model_path=target_file, **COMMON)
    draft = EarlyExitDraft(Llama(model_path=draft_file, **COMMON), request["draft_tokens"])
    speculative_model = Llama(model_path=target_file, draft_model=draft, **COMMON)
    scorer = Llama(model_path=target_file, logits_all=True, **COMMON)
    runs = []
    for prompt in request["prompts"]:
        prompt_tokens = plain_model.tokenize(prompt.encode("utf-8"), add_bos=False)
        plain = greedy(plain_model, prompt_tokens, request["max_tokens"])
        speculative = greedy(speculative_model, prompt_tokens, request["max_tokens"])
        divergence = None
        at = next((i for i, (a, b) in enumerate(zip(plain, speculative)) if a != b), None)
        if at is not None:
            scorer.reset()
            scorer.eval(prompt_tokens + plain[:at])
            row = np.asarray(scorer.scores[len(prompt_tokens) + at - 1])
            divergence = {"index": at, "plain": {"id": plain[at], "logit": float(row[plain[at]])},
                          "speculative": {"id": speculative[at], "logit": float(row[speculative[at]])}, "top": top(row, 3)}
        # every speculative token against the target's logits, teacher-forced in one pass
        scorer.reset()
        scorer.eval(prompt_tokens + speculative)
        rows = np.asarray(scorer.scores[len(prompt_tokens) - 1 : len(prompt_tokens) - 1 + len(speculative)])
        margins = [float(row.max() - row[token]) for row, token in zip(rows, speculative)]
        runs.append({"plain": plain, "speculative": speculative, "divergence": divergence,
                     "argmax": sum(m == 0.0 for m in margins), "max_margin": max(margins, default=0.0)})

    draft_scorer = Llama(model_path=draft_file, logits_all=True, **COMMON)
    draft_scorer.eval(request["logit_tokens"])
    n = len(request["logit_tokens"])
    draft_logits = [top(np.asarray(row), request["top_k"]) for row in draft_scorer.scores[:n]]
    json.dump({"runs": runs, "drafted": draft.drafted, "draft_logits": draft_logits}, sys.stdout)


if __name__ == "__main__":
    main()
