"""Build a code corpus on its own, e.g. the npm part for a GPU machine that has no node_modules:

    python3 training/build_corpus.py --out training/work/carry-b/npm-corpus --npm node_modules --no-python
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from layerskip.corpus import build_corpus  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--out", type=Path, required=True)
ap.add_argument("--npm", type=Path, action="append", default=[], help="a node_modules folder (repeatable)")
ap.add_argument("--site", type=Path, action="append", default=[], help="an extra Python site-packages folder")
ap.add_argument("--no-python", action="store_true", help="leave out this interpreter's own stdlib and site-packages")
ap.add_argument("--max-mb", type=float, default=50)
ap.add_argument("--max-package-mb", type=float, default=3)
ap.add_argument("--valid-percent", type=float, default=1.0)
args = ap.parse_args()
build_corpus(args.out, args.npm, args.site, args.valid_percent, int(args.max_mb * 1e6), int(args.max_package_mb * 1e6),
             python=not args.no_python)
