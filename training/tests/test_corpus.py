import json

from layerskip import corpus
from layerskip.corpus import build_corpus, is_permissive, python_license, read_docs


def test_license_expressions():
    assert is_permissive("MIT") and is_permissive("Apache-2.0") and is_permissive("BSD-3-Clause")
    assert is_permissive("(MIT OR GPL-3.0)") and is_permissive("Apache 2.0")
    assert not is_permissive("GPL-3.0") and not is_permissive(None) and not is_permissive("MIT AND GPL-2.0")
    assert python_license({}, ["License :: OSI Approved :: MIT License"]) == "MIT"
    assert python_license({"License": "x" * 500}, []) is None  # a pasted license text is not a name


def _py_dist(site, name, license_line, files):
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n{license_line}\n")
    record = []
    for rel, text in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text)
        record.append(f"{rel},sha256=x,1")
    (info / "RECORD").write_text("\n".join(record) + "\n")


def test_build_corpus_filters_licenses_dedups_and_splits(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus, "python_stdlib", lambda: [])  # keep the test to the fixture's files
    monkeypatch.setattr(corpus.site, "getsitepackages", lambda: [])
    site = tmp_path / "site"
    body = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(20))
    _py_dist(site, "okpkg", "License-Expression: MIT", {"okpkg/a.py": body, "okpkg/copy.py": body + "\n\n",
                                                         **{f"okpkg/m{i}.py": body.replace("x", f"v{i}") for i in range(60)}})
    _py_dist(site, "gplpkg", "License: GPL-3.0", {"gplpkg/b.py": body.replace("f", "g")})
    nm = tmp_path / "node_modules" / "jspkg"
    nm.mkdir(parents=True)
    (nm / "package.json").write_text(json.dumps({"name": "jspkg", "version": "2.0.0", "license": "ISC"}))
    (nm / "index.js").write_text("function add(a, b) {\n  return a + b;\n}\n" * 10)
    (nm / "lib.min.js").write_text("var a=1;" * 100 + "\n")
    manifest = build_corpus(tmp_path / "out", [tmp_path / "node_modules"], [site], valid_percent=10, log=lambda m: None)
    names = {p["name"]: p for p in manifest["packages"]}
    assert set(names) == {"okpkg", "jspkg"}
    assert names["okpkg"]["files"] == 61  # copy.py normalises to a.py's content
    assert manifest["rejected_files"]["duplicate"] == 1 and manifest["rejected_files"]["license"] == 1
    assert manifest["rejected_files"]["minified"] == 1
    assert [p["name"] for p in manifest["excluded_packages"]] == ["gplpkg"]
    train = list(read_docs(tmp_path / "out" / "train.jsonl.gz"))
    valid = list(read_docs(tmp_path / "out" / "valid.jsonl.gz"))
    assert len(train) + len(valid) == 62 and 0 < len(valid) < 20
    assert not {d["text"] for d in train} & {d["text"] for d in valid}
    assert manifest["licenses"]["MIT"]["files"] == 61


def test_carried_corpus_is_merged_with_its_manifest(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus, "python_stdlib", lambda: [])
    monkeypatch.setattr(corpus.site, "getsitepackages", lambda: [])
    nm = tmp_path / "node_modules" / "jspkg"
    nm.mkdir(parents=True)
    (nm / "package.json").write_text(json.dumps({"name": "jspkg", "version": "2.0.0", "license": "MIT"}))
    for i in range(30):
        (nm / f"f{i}.js").write_text(f"export function f{i}(a) {{\n  return a * {i};\n}}\n" * 8)
    build_corpus(tmp_path / "npm", [tmp_path / "node_modules"], [], python=False, log=lambda m: None)
    site = tmp_path / "site"
    _py_dist(site, "okpkg", "License-Expression: BSD-3-Clause", {"okpkg/a.py": "def a():\n    return 1\n" * 20})
    merged = build_corpus(tmp_path / "all", [], [site], carried=[tmp_path / "npm"], log=lambda m: None)
    assert {p["name"] for p in merged["packages"]} == {"jspkg", "okpkg"}
    docs = list(read_docs(tmp_path / "all" / "train.jsonl.gz")) + list(read_docs(tmp_path / "all" / "valid.jsonl.gz"))
    assert len(docs) == 31 and {d["lang"] for d in docs} == {"javascript", "python"}
