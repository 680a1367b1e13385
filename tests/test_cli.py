"""`claims extract`, `detect`, `schema`, `show` as a user runs them, bad input included."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, read_jsonl, run_claims, scaled, write_jsonl

SAMPLE = ROOT / "corpora" / "sample"

GOOD = [
    {"id": "en-1", "text": "At least 12 civilians were killed in Idlib, the monitor said."},
    {"id": "ar-1", "text": "قُتل 12 مدنياً في إدلب.", "meta": {"url": "https://example.org/a"}},
]


def test_extract_writes_one_result_per_document_in_order(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", GOOD)
    out = tmp_path / "out.jsonl"
    proc = run_claims("extract", str(src), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == ["en-1", "ar-1"]
    assert rows[1]["meta"] == {"url": "https://example.org/a"}
    assert "meta" not in rows[0]
    assert rows[0]["claims"][0]["figure"]["value"] == 12
    assert "documents" in proc.stderr  # the summary


def test_bad_input_gives_error_records_and_keeps_everything_else(tmp_path: Path) -> None:
    lines = [
        json.dumps(GOOD[0]),
        '{"id": "broken", "text": "unterminated',
        json.dumps({"id": "no-text"}),
        json.dumps({"id": "number-text", "text": 42}),
        json.dumps(["not", "an", "object"]),
        "",
        json.dumps({"text": "no id here"}),
        json.dumps(GOOD[1], ensure_ascii=False),
    ]
    src = tmp_path / "mixed.jsonl"
    src.write_bytes(("\n".join(lines) + "\n").encode() + b"\xff\xfe not utf-8\n")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02PNG\x00")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "latin1.txt").write_bytes("Café: 12 morts".encode("latin-1"))
    out = tmp_path / "out.jsonl"
    proc = run_claims("extract", str(src), str(tmp_path / "binary.txt"),
                      str(tmp_path / "empty.txt"), str(tmp_path / "latin1.txt"), "-o", str(out))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    rows = read_jsonl(out)
    by_id = {r["id"]: r for r in rows}
    assert len(rows) == 11
    assert by_id["en-1"]["error"] is None and by_id["en-1"]["claims"]
    assert by_id["ar-1"]["error"] is None and by_id["ar-1"]["claims"]
    assert by_id["mixed.jsonl:2"]["error"] == (
        f"{src} line 2: not valid JSON: Unterminated string starting at (column 26)")
    assert "line 3: missing 'text'" in by_id["no-text"]["error"]
    assert "line 4: 'text'" in by_id["number-text"]["error"]
    assert "line 5: expected a JSON object" in by_id["mixed.jsonl:5"]["error"]
    assert "line 7: missing 'id'" in by_id["mixed.jsonl:7"]["error"]
    assert "line 9: not valid UTF-8" in by_id["mixed.jsonl:9"]["error"]
    assert "binary file" in by_id["binary.txt"]["error"]
    assert "empty file" in by_id["empty.txt"]["error"]
    assert "not UTF-8" in by_id["latin1.txt"]["error"]


def test_a_long_article_is_processed_in_pieces(tmp_path: Path) -> None:
    """The issue's 5 MB article with CLAIMS_SCALE=25 (~4 min on 2 cores); 200 KB in CI."""
    paragraph = "Saldırıda 13 sivil öldü, 45 kişi yaralandı. " * 40 + "\n\n"
    copies = scaled(200_000) // len(paragraph) + 1
    text = paragraph * copies
    article = tmp_path / "long.txt"
    article.write_text(text, "utf-8")
    out = tmp_path / "out.jsonl"
    # every sentence holds two claims; the limit only guards against a hang, speed (time
    # proportional to length) is measured by `make bench`
    proc = run_claims("extract", str(article), "-o", str(out), "--quiet", timeout=900)
    assert proc.returncode == 0, proc.stderr
    (row,) = read_jsonl(out)
    assert row["lang"] == "tr" and row["error"] is None
    assert len(row["claims"]) == 2 * 40 * copies
    last = row["claims"][-1]["figure"]
    assert text[last["start"] : last["end"]] == last["text"] == "45"


def test_text_files_and_stdin(tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text("Police arrested 57 protesters on Friday.", "utf-8")
    proc = run_claims("extract", str(tmp_path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    (row,) = [json.loads(x) for x in proc.stdout.splitlines()]
    assert row["id"] == "one.txt" and row["claims"][0]["category"] == "detained"
    proc = run_claims("extract", "-", "--quiet", stdin=json.dumps(GOOD[0]) + "\n")
    assert proc.returncode == 0 and json.loads(proc.stdout)["id"] == "en-1"


@pytest.mark.parametrize("args", [
    ["extract", "does-not-exist.jsonl"],
    ["extract", "corpora/sample", "--jobs", "0"],
    ["extract", "corpora/sample", "--resume"],
    ["extract"],
    ["frobnicate"],
    ["show", "does-not-exist.jsonl"],
])
def test_usage_errors_exit_2_without_traceback(args: list[str]) -> None:
    proc = run_claims(*args)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "error" in proc.stderr


def test_jobs_2_gives_the_same_output_as_jobs_1(tmp_path: Path) -> None:
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}.jsonl"
        proc = run_claims("extract", str(SAMPLE), str(SAMPLE), "-o", str(out), "--jobs", jobs,
                          "--batch-size", "3", "--quiet")
        assert proc.returncode == 0, proc.stderr
        outs.append(out.read_text("utf-8"))
    assert outs[0] == outs[1]
    n_sample = len((SAMPLE / "articles.jsonl").read_text("utf-8").splitlines())
    assert len(outs[0].splitlines()) == 2 * n_sample


def test_resume_after_a_killed_run_gives_each_document_exactly_once(tmp_path: Path) -> None:
    docs = [{"id": f"d{i:04d}", "text": f"Saldırıda {i} sivil öldü. " * 10, "lang": "tr"}
            for i in range(scaled(300))]
    src = write_jsonl(tmp_path / "in.jsonl", docs)
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "nlp.cli", "extract", str(src), "-o", str(out), "--quiet",
           "--batch-size", "4"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 20_000):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    written = len(out.read_bytes().splitlines())
    assert 0 < written < len(docs), "the run should have been killed mid-way"
    with open(out, "ab") as fh:  # a half-written line, as a kill during a write leaves
        fh.write(b'{"id": "d9999", "lang": "tr", "cla')
    resumed = run_claims("extract", str(src), "-o", str(out), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr
    ids = [r["id"] for r in read_jsonl(out)]
    assert ids == [d["id"] for d in docs]


def test_detect_prints_id_lang_score(tmp_path: Path) -> None:
    proc = run_claims("detect", str(SAMPLE))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(x) for x in proc.stdout.splitlines()]
    assert {r["id"]: r["lang"] for r in rows}["de-001"] == "und"
    assert all(r["lang"] == r["id"][:2] for r in rows if r["id"] != "de-001")
    assert all(set(r) == {"id", "lang", "lang_score"} for r in rows)


def test_schema_and_show(tmp_path: Path) -> None:
    proc = run_claims("schema")
    assert proc.returncode == 0 and "lang_score" in json.loads(proc.stdout)["result"]["properties"]
    out = tmp_path / "out.jsonl"
    assert run_claims("extract", str(SAMPLE), "-o", str(out), "--quiet").returncode == 0
    proc = run_claims("show", str(out))
    assert proc.returncode == 0 and "killed" in proc.stdout


def test_figures_command_reads_text_and_json_lines() -> None:
    stdin = "\n".join([
        "At least 13 civilians were killed on 7 March 2025.",
        json.dumps({"id": "x", "text": "thirty-eight dead"}),
        json.dumps({"id": "y", "text": 5}),
    ]) + "\n"
    proc = run_claims("figures", "--lang", "en", stdin=stdin)
    assert proc.returncode == 1  # the third line has no text
    rows = [json.loads(x) for x in proc.stdout.splitlines()]
    assert [(f["text"], f["kind"]) for f in rows[0]["figures"]] == [
        ("At least 13", "cardinal"), ("7 March 2025", "date")]
    assert rows[1]["id"] == "x" and rows[1]["figures"][0]["value"] == 38
    assert "error" in rows[2]
