"""Times llama.cpp built for this CPU (PyPI llama-cpp-python, compiled at install with GGML_NATIVE=ON) for
`npm run bench:peer --native-python <venv>/bin/python`: greedy generation from given prompt token ids.

stdin: {"gguf": path, "runs": [{"tokens": [ids], "newTokens": n, "threads": t}, ...]}
stdout: [{"prefillMs": ms, "decodeTokensPerSecond": tps}, ...], one per run, in order (the time to the first token
is the prefill)
"""
import json
import sys
import time

from llama_cpp import Llama


def main() -> None:
    request = json.load(sys.stdin)
    models: dict[tuple[int, int], Llama] = {}
    out: list[dict[str, float]] = []
    for run in request["runs"]:
        tokens, new_tokens, threads = run["tokens"], run["newTokens"], run["threads"]
        context = len(tokens) + new_tokens + 8
        key = (threads, 2 if context <= 2048 else 4)  # one model per thread count and context size class
        if key not in models:
            models[key] = Llama(model_path=request["gguf"], n_threads=threads, n_threads_batch=threads,
                                n_ctx=2048 * key[1], n_batch=512, verbose=False)
        llm = models[key]
        llm.reset()
        started = time.perf_counter()
        first_at = None
        count = 0
        for _ in llm.generate(tokens, top_k=1, temp=0.0, reset=True):
            if count == 0:
                first_at = time.perf_counter()
            count += 1
            if count >= new_tokens:
                break
        end = time.perf_counter()
        out.append({
            "prefillMs": (first_at - started) * 1000,
            "decodeTokensPerSecond": (count - 1) / (end - first_at),
        })
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
