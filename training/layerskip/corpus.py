"""A corpus of permissively licensed source code found on this machine, deduplicated, split into train and
held-out by content hash, with a manifest of every package that went in and under which license.

Sources: Python's standard library (PSF-2.0), installed Python distributions (license from their metadata),
npm packages in node_modules folders (license from package.json). Anything whose license is missing or not on
the permissive list is left out and listed as such in the manifest.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import re
import site
import sys
import sysconfig
from dataclasses import dataclass, field
from email.parser import HeaderParser
from pathlib import Path

PERMISSIVE = {"MIT", "MIT-0", "BSD", "BSD-2-CLAUSE", "BSD-3-CLAUSE", "0BSD", "APACHE-2.0", "APACHE", "ISC",
              "PSF-2.0", "PSF", "PYTHON-2.0", "UNLICENSE", "ZLIB", "CC0-1.0", "BLUEOAK-1.0.0", "HPND"}
# Trove classifiers -> SPDX-like names (only the permissive ones matter; anything else is rejected).
CLASSIFIERS = {"MIT License": "MIT", "BSD License": "BSD", "Apache Software License": "Apache-2.0",
               "Python Software Foundation License": "PSF-2.0", "ISC License (ISCL)": "ISC",
               "The Unlicense (Unlicense)": "Unlicense", "zlib/libpng License": "Zlib",
               "MIT No Attribution License (MIT-0)": "MIT-0", "Historical Permission Notice and Disclaimer (HPND)": "HPND"}
# Free-text License fields as packages write them.
ALIASES = {"APACHE 2.0": "Apache-2.0", "APACHE LICENSE 2.0": "Apache-2.0", "APACHE LICENSE, VERSION 2.0": "Apache-2.0",
           "APACHE-2": "Apache-2.0", "APACHE 2": "Apache-2.0", "BSD LICENSE": "BSD", "MIT LICENSE": "MIT",
           "NEW BSD": "BSD-3-Clause", "NEW BSD LICENSE": "BSD-3-Clause", "3-CLAUSE BSD": "BSD-3-Clause",
           "BSD 3-CLAUSE": "BSD-3-Clause", "BSD-3": "BSD-3-Clause", "MODIFIED BSD": "BSD-3-Clause",
           "PSF LICENSE": "PSF-2.0", "PYTHON SOFTWARE FOUNDATION LICENSE": "PSF-2.0"}

PY_EXT = {".py"}
JS_EXT = {".js", ".mjs", ".cjs", ".ts", ".mts", ".cts", ".tsx", ".jsx"}


def is_permissive(expr: str | None) -> bool:
    """An SPDX-style expression is permissive if every AND-term is, where an OR-term needs one permissive side."""
    if not expr:
        return False
    expr = ALIASES.get(expr.strip().upper(), expr).strip("() ")
    for conj in re.split(r"\s+AND\s+", expr, flags=re.I):
        options = [o.strip("() ").upper() for o in re.split(r"\s+OR\s+|/", conj, flags=re.I)]
        if not any(ALIASES.get(o, o).upper() in PERMISSIVE for o in options):
            return False
    return True


def python_license(meta: dict[str, str], classifiers: list[str]) -> str | None:
    if meta.get("License-Expression"):
        return meta["License-Expression"].strip()
    names = [CLASSIFIERS.get(c.split("::")[-1].strip()) for c in classifiers if c.startswith("License ::")]
    names = [n for n in names if n]
    if names:
        return " OR ".join(sorted(set(names)))
    text = (meta.get("License") or "").strip()
    # Some packages paste the whole license text into the field; recognise only short names.
    return text if 0 < len(text) <= 60 and text.upper() not in ("UNKNOWN", "NONE") else None


@dataclass
class Package:
    source: str  # "python-stdlib" | "python" | "npm"
    name: str
    version: str
    license: str | None
    files: list[Path]
    stats: dict = field(default_factory=lambda: {"files": 0, "bytes": 0, "train_files": 0, "valid_files": 0})


def _walk(root: Path, exts: set[str], skip_dirs: set[str]) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs and not d.startswith("."))
        out += [Path(dirpath) / f for f in sorted(filenames) if Path(f).suffix in exts]
    return out


def python_stdlib() -> list[Package]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = _walk(root, PY_EXT, {"site-packages", "dist-packages", "__pycache__", "idlelib", "turtledemo"})
    return [Package("python-stdlib", "cpython-stdlib", sys.version.split()[0], "PSF-2.0", files)]


def python_distributions(site_dirs: list[Path]) -> list[Package]:
    """Each *.dist-info (RECORD lists its files) or *.egg-info (top_level.txt names its packages)."""
    out, seen = [], set()
    for sd in site_dirs:
        if not sd.is_dir():
            continue
        for info in sorted(sd.iterdir()):
            if info.suffix not in (".dist-info", ".egg-info") or not info.is_dir():
                continue
            meta_file = info / ("METADATA" if info.suffix == ".dist-info" else "PKG-INFO")
            if not meta_file.exists():
                continue
            msg = HeaderParser().parsestr(meta_file.read_text(errors="replace"))
            name, version = msg.get("Name", info.stem), msg.get("Version", "?")
            if name.lower() in seen:
                continue
            seen.add(name.lower())
            files: list[Path] = []
            if (info / "RECORD").exists():
                for line in (info / "RECORD").read_text(errors="replace").splitlines():
                    rel = line.split(",")[0]
                    if rel.endswith(".py") and not rel.startswith(".."):
                        files.append(sd / rel)
            elif (info / "top_level.txt").exists():
                for top in (info / "top_level.txt").read_text().split():
                    if (sd / top).is_dir():
                        files += _walk(sd / top, PY_EXT, {"__pycache__"})
                    elif (sd / f"{top}.py").exists():
                        files.append(sd / f"{top}.py")
            out.append(Package("python", name, version, python_license(dict(msg.items()), msg.get_all("Classifier") or []), files))
    return out


def npm_packages(node_modules_dirs: list[Path]) -> list[Package]:
    out, seen = [], set()
    for nm in node_modules_dirs:
        if not nm.is_dir():
            continue
        for pkg_json in sorted(nm.glob("*/package.json")) + sorted(nm.glob("@*/*/package.json")):
            try:
                pj = json.loads(pkg_json.read_text())
            except (ValueError, OSError):
                continue
            name, version = pj.get("name", pkg_json.parent.name), pj.get("version", "?")
            if (name, version) in seen:
                continue
            seen.add((name, version))
            lic = pj.get("license")
            if isinstance(lic, dict):
                lic = lic.get("type")
            files = _walk(pkg_json.parent, JS_EXT, {"node_modules", "test", "tests", "__tests__", "coverage"})
            out.append(Package("npm", name, version, lic if isinstance(lic, str) else None, files))
    return out


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip("\n") + "\n"


def _reject_reason(path: Path, text: str, min_bytes: int, max_bytes: int) -> str | None:
    if not (min_bytes <= len(text) <= max_bytes):
        return "size"
    if path.name.endswith((".min.js", ".bundle.js")) or ".min." in path.name:
        return "minified"
    lines = text.count("\n") + 1
    if len(text) / lines > 200 or max(len(l) for l in text.split("\n")) > 3000:
        return "minified"  # generated or bundled code: one giant line
    return None


def _split_of(digest: str, valid_percent: float) -> str:
    return "valid" if int(digest[:8], 16) % 10_000 < valid_percent * 100 else "train"


def build_corpus(out_dir: Path, node_modules: list[Path], extra_site_dirs: list[Path], valid_percent: float = 2.0,
                 max_total_bytes: int = 50_000_000, max_package_bytes: int = 5_000_000, min_file_bytes: int = 200,
                 max_file_bytes: int = 200_000, seed: int = 0, python: bool = True, carried: list[Path] = (),
                 log=print) -> dict:
    """Writes out_dir/{train,valid}.jsonl.gz ({"text", "path", "package", "license", "lang"} per file) and
    out_dir/manifest.json. Files are deduplicated by normalised content; the split is by content hash so a file
    copied into two packages can never land on both sides. `carried`: corpus folders built elsewhere (e.g. npm
    code for a machine that has no node_modules), merged in first with their manifests' package lists."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # python=False leaves out this interpreter's own stdlib and site-packages (not the extra folders)
    site_dirs = ([Path(p) for p in site.getsitepackages()] if python else []) + list(extra_site_dirs)
    packages = python_distributions(site_dirs) + npm_packages(node_modules)
    random.Random(seed).shuffle(packages)  # the total-size cap then samples packages fairly, not alphabetically
    packages = (python_stdlib() if python else []) + packages  # the stdlib always goes in (up to max_package_bytes)
    seen_hashes: set[str] = set()
    rejected = {"license": 0, "duplicate": 0, "size": 0, "minified": 0, "unreadable": 0}
    total = 0
    writers = {s: gzip.open(out_dir / f"{s}.jsonl.gz", "wt", encoding="utf-8") for s in ("train", "valid")}
    included, excluded = [], []
    for folder in carried:
        carried_manifest = json.loads((folder / "manifest.json").read_text())
        included += carried_manifest["packages"]
        excluded += carried_manifest["excluded_packages"]
        for split in ("train", "valid"):
            for doc in read_docs(folder / f"{split}.jsonl.gz"):
                digest = hashlib.sha256(doc["text"].encode()).hexdigest()
                if digest not in seen_hashes:
                    seen_hashes.add(digest)
                    writers[_split_of(digest, valid_percent)].write(json.dumps(doc) + "\n")
                    total += len(doc["text"])
    for pkg in packages:
        if not is_permissive(pkg.license):
            rejected["license"] += len(pkg.files)
            excluded.append({"source": pkg.source, "name": pkg.name, "version": pkg.version, "license": pkg.license,
                             "files": len(pkg.files)})
            continue
        pkg_bytes = 0
        for path in pkg.files:
            if total >= max_total_bytes or pkg_bytes >= max_package_bytes:
                break
            try:
                text = _normalise(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                rejected["unreadable"] += 1
                continue
            reason = _reject_reason(path, text, min_file_bytes, max_file_bytes)
            if reason:
                rejected[reason] += 1
                continue
            digest = hashlib.sha256(text.encode()).hexdigest()
            if digest in seen_hashes:
                rejected["duplicate"] += 1
                continue
            seen_hashes.add(digest)
            split = _split_of(digest, valid_percent)
            lang = "python" if path.suffix == ".py" else "typescript" if "ts" in path.suffix else "javascript"
            writers[split].write(json.dumps({"text": text, "path": str(path), "package": pkg.name,
                                             "license": pkg.license, "lang": lang}) + "\n")
            pkg.stats["files"] += 1
            pkg.stats[f"{split}_files"] += 1
            pkg.stats["bytes"] += len(text)
            pkg_bytes += len(text)
            total += len(text)
        if pkg.stats["files"]:
            included.append({"source": pkg.source, "name": pkg.name, "version": pkg.version, "license": pkg.license,
                             **pkg.stats})
    for w in writers.values():
        w.close()
    manifest = {
        "description": "Permissively licensed source code found on the machine that built this corpus",
        "python": sys.version.split()[0], "site_dirs": [str(p) for p in site_dirs],
        "node_modules": [str(p) for p in node_modules], "carried": [str(p) for p in carried],
        "valid_percent": valid_percent, "seed": seed,
        "total_bytes": total, "files": sum(p["files"] for p in included),
        "train_files": sum(p["train_files"] for p in included), "valid_files": sum(p["valid_files"] for p in included),
        "rejected_files": rejected, "licenses": _license_totals(included),
        "packages": sorted(included, key=lambda p: (p["source"], p["name"])),
        "excluded_packages": sorted(excluded, key=lambda p: (p["source"], p["name"])),
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    log(f"corpus: {manifest['files']} files, {total / 1e6:.1f} MB from {len(included)} packages "
        f"({manifest['valid_files']} held out); rejected {rejected}")
    return manifest


def _license_totals(included: list[dict]) -> dict[str, dict]:
    totals: dict[str, dict] = {}
    for p in included:
        t = totals.setdefault(p["license"], {"packages": 0, "files": 0, "bytes": 0})
        t["packages"] += 1
        t["files"] += p["files"]
        t["bytes"] += p["bytes"]
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]["bytes"]))


def read_docs(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)
