#!/usr/bin/env bash
# Writes media/draft-corpus.txt: the code sample whose token frequencies choose the draft head's vocabulary when a
# checkpoint is converted (server/model/draftVocabulary.ts). This project's own code (MIT), in TypeScript, Python and
# shell; the benchmark prompts' sources (server/) are left out so that benchmarks do not measure on it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
{
  for file in extension/*.ts extension/hub/*.ts test/support/*.ts training/*.py training/layerskip/*.py scripts/*.sh; do
    cat "$file"
    printf '\n'
  done
} >media/draft-corpus.txt
echo "media/draft-corpus.txt: $(wc -c <media/draft-corpus.txt) bytes"
