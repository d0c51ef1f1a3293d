/**
 * The benchmark's code-completion prompts: a cursor inside real code, as prefix / suffix. Excerpts of this
 * repository's own sources (TypeScript) and of common algorithms as they are usually written in Python, Go, Rust,
 * C, Java and shell. The benchmark formats them as fill-in-the-middle when the model has FIM tokens, else as prefix.
 */
import type { Engine } from '../engine/engine.js';
import type { Manifest } from '../model/manifest.js';

export interface CompletionPrompt {
  name: string;
  prefix: string;
  suffix: string;
}

export const PROMPTS: readonly CompletionPrompt[] = [
  {
    name: 'ts-kvcache-append',
    prefix: `  /** Appends rows ([S, kvHeads, headDim] each) after the valid prefix of \`layer\`. */
  append(layer: number, newKeys: Float32Array, newValues: Float32Array): void {
    const rows = newKeys.length / this.rowSize;
    const start = this.lengths[layer];
`,
    suffix: `    this.lengths[layer] = start + rows;
  }
`,
  },
  {
    name: 'ts-argmax',
    prefix: `/** Index of the largest value (first one on ties, like onnx ArgMax). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
`,
    suffix: `  return best;
}
`,
  },
  {
    name: 'ts-rms-norm',
    prefix: `/** x [rows, n] -> x / rms(x) * weight, per row (HF LlamaRMSNorm). */
export function rmsNorm(x: Float32Array, weight: Float32Array, eps: number): Float32Array {
  const n = weight.length;
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
`,
    suffix: `  }
  return out;
}
`,
  },
  {
    name: 'ts-debounce',
    prefix: `export function debounce<T extends unknown[]>(fn: (...args: T) => void, waitMs: number): (...args: T) => void {
  let timer: NodeJS.Timeout | undefined;
  return (...args: T) => {
`,
    suffix: `  };
}
`,
  },
  {
    name: 'ts-parse-tokens',
    prefix: `function parseTokens(text: string | undefined): number[] {
  if (!text) throw new Error('--tokens is required');
  return text.split(',').map((part) => {
`,
    suffix: `  });
}
`,
  },
  {
    name: 'ts-lru-cache',
    prefix: `export class LruCache<K, V> {
  private readonly entries = new Map<K, V>();
  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
`,
    suffix: `  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
  }
}
`,
  },
  {
    name: 'py-binary-search',
    prefix: `def binary_search(items, target):
    """Return the index of target in the sorted list items, or -1."""
    lo, hi = 0, len(items) - 1
    while lo <= hi:
`,
    suffix: `    return -1
`,
  },
  {
    name: 'py-fibonacci',
    prefix: `def fibonacci(n: int) -> int:
    """Return the n-th Fibonacci number (fibonacci(0) == 0)."""
    a, b = 0, 1
`,
    suffix: `    return a


if __name__ == "__main__":
    print([fibonacci(i) for i in range(10)])
`,
  },
  {
    name: 'py-read-json-lines',
    prefix: `import json
from pathlib import Path


def read_jsonl(path: Path) -> list[dict]:
    records = []
    with path.open(encoding="utf-8") as f:
        for line_number, line in enumerate(f, 1):
`,
    suffix: `    return records
`,
  },
  {
    name: 'py-quicksort',
    prefix: `def quicksort(xs):
    if len(xs) <= 1:
        return xs
    pivot = xs[len(xs) // 2]
`,
    suffix: `    return quicksort(left) + middle + quicksort(right)
`,
  },
  {
    name: 'py-dataclass',
    prefix: `from dataclasses import dataclass, field


@dataclass
class TrainingConfig:
    learning_rate: float = 3e-4
    batch_size: int = 32
`,
    suffix: `
    def total_steps(self, dataset_size: int) -> int:
        return self.epochs * (dataset_size // self.batch_size)
`,
  },
  {
    name: 'py-softmax',
    prefix: `import numpy as np


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
`,
    suffix: `

def cross_entropy(logits: np.ndarray, target: int) -> float:
    return float(-np.log(softmax(logits)[target]))
`,
  },
  {
    name: 'go-http-handler',
    prefix: `func healthHandler(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
`,
    suffix: `	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
}
`,
  },
  {
    name: 'go-reverse',
    prefix: `// Reverse returns its argument string reversed rune-wise left to right.
func Reverse(s string) string {
	r := []rune(s)
`,
    suffix: `	return string(r)
}
`,
  },
  {
    name: 'rust-gcd',
    prefix: `/// Greatest common divisor by Euclid's algorithm.
pub fn gcd(mut a: u64, mut b: u64) -> u64 {
`,
    suffix: `    a
}
`,
  },
  {
    name: 'rust-word-count',
    prefix: `use std::collections::HashMap;

pub fn word_count(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
`,
    suffix: `    counts
}
`,
  },
  {
    name: 'c-strlen',
    prefix: `#include <stddef.h>

size_t my_strlen(const char *s) {
    const char *p = s;
`,
    suffix: `    return (size_t)(p - s);
}
`,
  },
  {
    name: 'c-linked-list',
    prefix: `struct node {
    int value;
    struct node *next;
};

struct node *list_reverse(struct node *head) {
    struct node *prev = NULL;
`,
    suffix: `    return prev;
}
`,
  },
  {
    name: 'java-stack',
    prefix: `public class Stack<T> {
    private final ArrayList<T> items = new ArrayList<>();

    public void push(T item) {
        items.add(item);
    }

    public T pop() {
`,
    suffix: `    }

    public boolean isEmpty() {
        return items.isEmpty();
    }
}
`,
  },
  {
    name: 'sh-retry',
    prefix: `#!/usr/bin/env bash
set -euo pipefail

retry() {
  local attempts=$1; shift
  local n=1
`,
    suffix: `}

retry 5 curl -fsS https://example.com/health
`,
  },
  {
    name: 'ts-async-pool',
    prefix: `/** Runs tasks with at most \`limit\` in flight; resolves with their results in order. */
export async function mapWithLimit<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
`,
    suffix: `  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
`,
  },
  {
    name: 'py-flask-route',
    prefix: `from flask import Flask, jsonify, request

app = Flask(__name__)
todos = []


@app.route("/todos", methods=["POST"])
def add_todo():
    payload = request.get_json(force=True)
`,
    suffix: `    return jsonify(todo), 201
`,
  },
];

/** A prompt as the model sees it: fill-in-the-middle when the package has FIM tokens, else the prefix. */
export function promptTokens(engine: Engine, prompt: CompletionPrompt): number[] {
  const { config, manifest } = engine.info();
  const fim = (manifest as Manifest | null)?.tokenizer.fim ?? null;
  const bos = config.bosTokenId === null ? [] : [config.bosTokenId];
  if (fim === null) return [...bos, ...engine.tokenize(prompt.prefix)];
  const { prefix, suffix, middle } = fim.ids;
  return [...bos, prefix, ...engine.tokenize(prompt.prefix), suffix, ...engine.tokenize(prompt.suffix), middle];
}
