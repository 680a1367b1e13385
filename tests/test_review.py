"""The review app's storage, API, security and exports (the browser is tested apart).

Storage tests run against SQLite and against a real PostgreSQL that the fixture starts as a
throw-away cluster on 127.0.0.1 (skipped, saying why, where the server is not installed).
"""

from __future__ import annotations

import copy
import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nlp.cli import main
from nlp.review.app import LOOPBACK_HOSTS, create_app
from nlp.review.export import export
from nlp.review.importer import import_records
from nlp.review.store import Conflict, Invalid, Store

AR_TEXT = ("أفاد المرصد السوري لحقوق الإنسان بمقتل 12 مدنياً في قصف على إدلب يوم الأحد، "
           "وإصابة 30 آخرين بجروح.")
FA_TEXT = "به گزارش هرانا، دست‌کم ۵ نفر در زاهدان کشته شدند و ۱۲ نفر بازداشت شدند."


def span(text: str, needle: str, nth: int = 0) -> dict[str, Any]:
    start = -1
    for _ in range(nth + 1):
        start = text.index(needle, start + 1)
    return {"text": needle, "start": start, "end": start + len(needle)}


def model_claim(text: str, figure: str, value: int, category: str, confidence: float,
                **roles: Any) -> dict[str, Any]:
    """A claim in the CLAIMS.md output shape, as `claims extract` writes it."""
    fig = span(text, figure)
    return {"figure": {**fig, "value": value, "low": value, "high": value,
                       "qualifier": "exact"},
            "category": category, "victims": roles.get("victims"),
            "actor": None, "source": roles.get("source"), "places": roles.get("places", []),
            "time": None, "sentence": {"start": 0, "end": len(text)},
            "confidence": confidence}


def records() -> list[dict[str, Any]]:
    ar = {"id": "ar-1", "lang": "ar", "text": AR_TEXT, "claims": [
        model_claim(AR_TEXT, "12", 12, "killed", 0.9,
                    victims={**span(AR_TEXT, "مدنياً"), "type": "civilians"},
                    source=span(AR_TEXT, "المرصد السوري لحقوق الإنسان")),
        model_claim(AR_TEXT, "30", 30, "injured", 0.4)]}
    fa = {"id": "fa-1", "lang": "fa", "text": FA_TEXT, "meta": {"url": "https://x.example"},
          "claims": [model_claim(FA_TEXT, "۵", 5, "killed", 0.7)]}
    gold = {"id": "ar-gold", "lang": "ar", "text": AR_TEXT, "claims": [
        {"figure_text": "12", "figure_start": AR_TEXT.index("12"), "value": 12,
         "qualifier": "exact", "low": 12, "high": 12, "category": "killed",
         "victims_type": "civilians", "victims_text": "مدنياً", "actor": None,
         "source": "المرصد السوري لحقوق الإنسان", "places": ["إدلب"], "time": None}]}
    return [ar, fa, gold]


# -- storage back ends -----------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL cluster on 127.0.0.1, for the length of the test session."""
    initdb = shutil.which("initdb") or next(iter(sorted(glob.glob(
        "/usr/lib/postgresql/*/bin/initdb"))), None)
    if initdb is None:
        pytest.skip("PostgreSQL server is not installed (Debian: apt-get install postgresql)")
    bindir = Path(initdb).resolve().parent
    as_user: list[str] = []
    root = tempfile.mkdtemp(prefix="claims-pg-")
    if os.geteuid() == 0:  # the server refuses to run as root
        if shutil.which("runuser") is None or subprocess.run(
                ["id", "postgres"], capture_output=True).returncode != 0:
            pytest.skip("running as root without a 'postgres' user to start PostgreSQL as")
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = f"{root}/data", _free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True,  # noqa: E731
                                      capture_output=True, text=True)
    run(str(bindir / "initdb"), "-D", data, "-A", "trust", "-U", "claims", "--no-sync")
    run(str(bindir / "pg_ctl"), "-D", data, "-l", f"{root}/log", "-w", "-o",
        f"-h 127.0.0.1 -p {port} -k {root} -F", "start")
    try:
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "claims",
            "review") if (bindir / "createdb").exists() else None
        yield f"postgresql://claims@127.0.0.1:{port}/review"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", data, "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/review.sqlite3"
    else:
        url = request.getfixturevalue("postgres_url")
    st = Store(url)
    with st.engine.begin() as conn:  # a clean slate per test on the shared server
        for table in ("submissions", "changes", "claims", "annotators", "documents"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    report = import_records(st, records(), extractor=None)
    assert report.added == ["ar-1", "fa-1", "ar-gold"], report
    yield st
    st.close()


def test_migrations_build_what_the_models_describe(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from nlp.review.models import Base

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_import_model_claims_wait_for_review_and_gold_claims_are_done(store: Store) -> None:
    doc = store.get("ar-1")
    assert doc["status"] == "new" and doc["version"] == 1
    assert [c["status"] for c in doc["claims"]] == ["pending", "pending"]
    assert [c["origin"] for c in doc["claims"]] == ["model", "model"]
    gold = store.get("ar-gold")
    assert gold["status"] == "done"
    place = gold["claims"][0]["places"][0]
    assert AR_TEXT[place["start"]:place["end"]] == "إدلب"
    again = import_records(store, [records()[0], {"id": "x", "text": 5},
                                   {"id": "bad", "lang": "ar", "text": AR_TEXT,
                                    "claims": [{"figure_text": "99", "figure_start": 0}]}])
    assert again.skipped == ["ar-1"] and again.added == []
    assert len(again.errors) == 2 and "text" in again.errors[0]


def test_queue_is_least_confident_first_and_next_skips_done(store: Store) -> None:
    total, rows = store.list_documents()
    assert total == 3
    assert [r["id"] for r in rows] == ["ar-1", "fa-1", "ar-gold"]  # 0.4, 0.7, none
    assert store.list_documents(lang="fa")[0] == 1
    assert store.list_documents(status="done")[1][0]["id"] == "ar-gold"
    assert store.next_document() == "ar-1"
    assert store.next_document(lang="fa") == "fa-1"


def test_save_edits_adds_deletes_and_records_who_changed_what(store: Store) -> None:
    doc = store.get("ar-1")
    killed, injured = copy.deepcopy(doc["claims"])
    killed["figure"].update(value=13, low=13, high=13)
    killed["places"] = [span(AR_TEXT, "إدلب")]
    injured["status"] = "rejected"
    added = {"figure": {**span(AR_TEXT, "30"), "value": 30, "low": None, "high": None,
                        "qualifier": "approx"},
             "category": "injured", "victims_type": "unspecified"}
    from nlp.review.records import ReviewClaim

    saved = store.save("ar-1", 1, [ReviewClaim.model_validate(c)
                                   for c in (killed, injured, added)], "ليلى")
    assert saved["version"] == 2 and saved["updated_by"] == "ليلى"
    assert [c["status"] for c in saved["claims"]] == ["pending", "rejected", "pending"]
    assert saved["claims"][2]["origin"] == "annotator"
    actions = [(c["action"], c["annotator"]) for c in store.history("ar-1")]
    assert sorted(actions) == sorted([("edit", "ليلى"), ("reject", "ليلى"), ("add", "ليلى"),
                                      ("status", "ليلى")])
    edit = next(c for c in store.history("ar-1") if c["action"] == "edit")
    assert edit["before"]["figure"]["value"] == 12 and edit["after"]["figure"]["value"] == 13
    # deleting a claim is recorded too
    store.save("ar-1", 2, [ReviewClaim.model_validate(saved["claims"][0])], "ليلى")
    assert "delete" in [c["action"] for c in store.history("ar-1")]


def test_stale_save_is_a_conflict_and_changes_nothing(store: Store) -> None:
    from nlp.review.records import ReviewClaim

    claims = [ReviewClaim.model_validate(c) for c in store.get("fa-1")["claims"]]
    store.save("fa-1", 1, claims, "maryam")
    edited = [claims[0].model_copy(update={"category": "injured"})]
    with pytest.raises(Conflict, match="maryam saved this document"):
        store.save("fa-1", 1, edited, "reza")
    assert store.get("fa-1")["claims"][0]["category"] == "killed"
    assert store.get("fa-1")["version"] == 2


def test_invalid_save_changes_nothing(store: Store) -> None:
    from nlp.review.records import ReviewClaim

    claims = [ReviewClaim.model_validate(c) for c in store.get("ar-1")["claims"]]
    wrong = {**claims[0].model_dump(), "places": [{"text": "إدلب", "start": 0, "end": 4}]}
    with pytest.raises(Invalid, match=r"claims\[0\]: places\[0\]"):
        store.save("ar-1", 1, [ReviewClaim.model_validate(wrong), claims[1]], "a")
    assert store.get("ar-1")["version"] == 1 and store.history("ar-1") == []


def test_done_accepts_pending_claims_and_gold_export_validates(
        store: Store, tmp_path: Path) -> None:
    from nlp.review.records import ReviewClaim

    claims = [ReviewClaim.model_validate(c) for c in store.get("fa-1")["claims"]]
    store.save("fa-1", 1, claims, "maryam", status="done")
    assert [c["status"] for c in store.get("fa-1")["claims"]] == ["accepted"]
    lines = list(export(store, "gold"))
    assert [r["id"] for r in lines] == ["ar-gold", "fa-1"]
    assert lines[1]["meta"] == {"url": "https://x.example"}
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines),
                    encoding="utf-8")
    assert main(["validate", str(path)]) == 0


# -- HTTP API --------------------------------------------------------------------------------
@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    st = Store(f"sqlite:///{tmp_path}/api.sqlite3")
    import_records(st, records(), extractor=None)
    yield st
    st.close()


@pytest.fixture
def client(sqlite_store: Store) -> TestClient:
    c = TestClient(create_app(sqlite_store))
    assert c.get("/api/me").status_code == 200  # sets the CSRF cookie
    return c


def headers(c: TestClient, name: str = "ali") -> dict[str, str]:
    from urllib.parse import quote

    return {"X-CSRF-Token": c.cookies["claims_csrf"], "X-Annotator": quote(name)}


def test_api_lists_filters_and_gives_the_next_document(client: TestClient) -> None:
    body = client.get("/api/documents", params={"lang": "ar"}).json()
    assert body["total"] == 2 and {d["id"] for d in body["documents"]} == {"ar-1", "ar-gold"}
    assert client.get("/api/documents", params={"status": "done"}).json()["total"] == 1
    assert client.get("/api/next").json() == {"id": "ar-1"}
    for bad in ({"lang": "xx"}, {"status": "finished"}, {"limit": 0}, {"offset": -1}):
        assert client.get("/api/documents", params=bad).status_code == 422, bad
    assert client.get("/api/next", params={"lang": "xx"}).status_code == 422
    assert client.get("/api/documents/nope").status_code == 404
    assert client.get("/api/documents/nope/history").status_code == 404


def test_api_next_says_when_nothing_is_left(client: TestClient) -> None:
    for doc_id in ("ar-1", "fa-1"):
        doc = client.get(f"/api/documents/{doc_id}").json()
        r = client.put(f"/api/documents/{doc_id}", headers=headers(client),
                       json={"version": doc["version"], "claims": doc["claims"],
                             "status": "done"})
        assert r.status_code == 200, r.text
    r = client.get("/api/next")
    assert r.status_code == 404 and "no document left" in r.json()["detail"]


def test_api_save_round_trip_and_history(client: TestClient) -> None:
    doc = client.get("/api/documents/ar-1").json()
    claims = doc["claims"]
    claims[0]["places"] = [span(AR_TEXT, "إدلب")]
    claims[0]["category"] = "injured"
    claims[1]["category"] = "killed"
    r = client.put("/api/documents/ar-1", headers=headers(client, "ليلى"),
                   json={"version": 1, "claims": claims})
    assert r.status_code == 200, r.text
    again = client.get("/api/documents/ar-1").json()
    assert again["version"] == 2 and again["status"] == "in_progress"
    assert again["claims"][0]["places"] == [span(AR_TEXT, "إدلب")]
    assert [c["category"] for c in again["claims"]] == ["injured", "killed"]
    changes = client.get("/api/documents/ar-1/history").json()["changes"]
    assert {c["annotator"] for c in changes} == {"ليلى"}


def _put(client: TestClient, claims: list[dict[str, Any]], version: int = 1,
         **extra: Any) -> Any:
    return client.put("/api/documents/ar-1", headers=headers(client),
                      json={"version": version, "claims": claims, **extra})


@pytest.mark.parametrize(("change", "expected"), [
    (lambda c: c[0]["figure"].update(text="13"), "figure: '13' is not text"),
    (lambda c: c[0].update(places=[{"text": "x", "start": 5000, "end": 5001}]),
     "past the end of the text"),
    (lambda c: c[0].update(source={"text": "", "start": 3, "end": 3}), "empty span"),
    (lambda c: c[0]["figure"].update(low=1), "needs low=12"),
    (lambda c: c[0]["figure"].update(qualifier="vague"), "vague figure has value null"),
    (lambda c: c[0]["figure"].update(value=-3, low=-3, high=-3), "not a count"),
    (lambda c: c[0].update(id=999), "not a claim of document"),
    (lambda c: c[1].update(id=c[0]["id"]), "given twice"),
    (lambda c: c[1].update(figure=c[0]["figure"], category="killed"), "a second 'killed'"),
])
def test_api_refuses_bad_claims_with_a_clear_422(client: TestClient, change: Any,
                                                   expected: str) -> None:
    claims = client.get("/api/documents/ar-1").json()["claims"]
    change(claims)
    r = _put(client, claims)
    assert r.status_code == 422 and expected in r.json()["detail"], r.text
    assert client.get("/api/documents/ar-1").json()["version"] == 1  # nothing changed


@pytest.mark.parametrize("body", [
    {"claims": []},                                              # no version
    {"version": "1", "claims": []},                              # version as a string
    {"version": 1, "claims": [], "status": "finished"},          # unknown status
    {"version": 1, "claims": [{"figure": {}}]},                  # incomplete claim
    {"version": 1, "claims": [], "extra": 1},                    # unknown field
])
def test_api_refuses_malformed_bodies(client: TestClient, body: dict[str, Any]) -> None:
    doc = client.get("/api/documents/ar-1").json()
    claims = doc["claims"]
    claims[0]["category"] = "exploded"
    r = client.put("/api/documents/ar-1", headers=headers(client), json=body)
    assert r.status_code == 422
    r = _put(client, claims)
    assert r.status_code == 422 and "category" in json.dumps(r.json())


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "a%0Ab"])
def test_api_needs_a_valid_annotator_name(client: TestClient, name: str) -> None:
    claims = client.get("/api/documents/ar-1").json()["claims"]
    r = client.put("/api/documents/ar-1", json={"version": 1, "claims": claims},
                   headers={"X-CSRF-Token": client.cookies["claims_csrf"], "X-Annotator": name})
    assert r.status_code == 422 and "annotator" in r.json()["detail"]


def test_api_stale_save_gets_409(client: TestClient) -> None:
    claims = client.get("/api/documents/ar-1").json()["claims"]
    assert _put(client, claims).status_code == 200
    claims[0]["category"] = "missing"
    r = _put(client, claims, version=1)
    assert r.status_code == 409 and "conflict: ali saved this document" in r.json()["detail"]
    assert client.get("/api/documents/ar-1").json()["claims"][0]["category"] == "killed"


def test_csrf_header_must_match_the_cookie(client: TestClient) -> None:
    claims = client.get("/api/documents/ar-1").json()["claims"]
    body = {"version": 1, "claims": claims}
    r = client.put("/api/documents/ar-1", json=body, headers={"X-Annotator": "ali"})
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["detail"]
    r = client.put("/api/documents/ar-1", json=body,
                   headers={"X-Annotator": "ali", "X-CSRF-Token": "forged"})
    assert r.status_code == 403
    assert client.get("/api/documents/ar-1").json()["version"] == 1


def test_token_is_required_on_every_request(sqlite_store: Store) -> None:
    c = TestClient(create_app(sqlite_store, token="s3cret"))
    for path in ("/", "/api/documents", "/api/documents/ar-1", "/api/agreement",
                 "/static/document.js"):
        assert c.get(path).status_code == 401, path
    assert c.get("/api/documents", headers={"Authorization": "Bearer wrong"}).status_code == 401
    bearer = {"Authorization": "Bearer s3cret"}
    assert c.get("/api/documents", headers=bearer).status_code == 200
    # programs with the bearer token need no CSRF cookie
    claims = c.get("/api/documents/ar-1", headers=bearer).json()["claims"]
    r = c.put("/api/documents/ar-1", headers={**bearer, "X-Annotator": "bot"},
              json={"version": 1, "claims": claims})
    assert r.status_code == 200
    # a browser opens the address with ?token= once; the cookie carries it afterwards
    assert c.get("/api/me", params={"token": "s3cret"}).status_code == 200
    assert c.cookies.get("claims_token") == "s3cret"
    assert c.get("/api/documents").status_code == 200


def test_loopback_app_refuses_other_host_names(sqlite_store: Store) -> None:
    c = TestClient(create_app(sqlite_store, allowed_hosts=LOOPBACK_HOSTS),
                   base_url="http://127.0.0.1:8000")
    assert c.get("/api/documents").status_code == 200
    r = c.get("/api/documents", headers={"Host": "evil.example:8000"})
    assert r.status_code == 400  # DNS rebinding: a page on another name gets nothing


def test_responses_forbid_inline_script(client: TestClient) -> None:
    r = client.get("/api/documents")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_pages_are_served(client: TestClient) -> None:
    for path in ("/", "/documents/ar-1", "/agreement"):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert AR_TEXT not in r.text  # text only ever arrives as JSON, set as text


# -- agreement and exports ------------------------------------------------------------------
def _finish(client: TestClient, doc_id: str, name: str, edit: Any = None) -> None:
    doc = client.get(f"/api/documents/{doc_id}").json()
    if edit:
        edit(doc["claims"])
    r = client.put(f"/api/documents/{doc_id}", headers=headers(client, name),
                   json={"version": doc["version"], "claims": doc["claims"], "status": "done"})
    assert r.status_code == 200, r.text


def test_agreement_between_annotators_and_with_the_model(client: TestClient) -> None:
    _finish(client, "ar-1", "ali")
    _finish(client, "ar-1", "sara", lambda c: c[1].update(status="rejected"))
    found = client.get("/api/agreement").json()
    assert found["annotators"] == ["ali", "sara"]
    between = found["between_annotators"]
    # ali's reading is taken as gold: sara's has one of ali's two claims
    assert between["pairs"] == 1 and between["claims"]["precision"] == 1.0
    assert between["claims"]["recall"] == 0.5
    model = found["model_vs_annotators"]
    assert model["documents"] == 2 and model["claims"]["recall"] == 1.0
    assert model["claims"]["precision"] == 0.75  # sara rejected one of the model's two


def test_label_studio_and_prodigy_exports(client: TestClient, sqlite_store: Store) -> None:
    _finish(client, "ar-1", "ali", lambda c: c[0].update(places=[span(AR_TEXT, "إدلب")]))
    tasks = {t["data"]["doc_id"]: t for t in export(sqlite_store, "label-studio")}
    task = tasks["ar-1"]
    assert task["data"]["text"] == AR_TEXT
    predicted = task["predictions"][0]["result"]
    annotated = task["annotations"][0]["result"]
    for region in predicted + annotated:
        if region["type"] == "labels":
            v = region["value"]
            assert AR_TEXT[v["start"]:v["end"]] == v["text"]
    assert {"PLACE"} <= {r["value"]["labels"][0] for r in annotated if r["type"] == "labels"}
    assert not any(r["type"] == "labels" and r["value"]["labels"] == ["PLACE"]
                   for r in predicted)
    relations = [r for r in annotated if r["type"] == "relation"]
    assert {r["labels"][0] for r in relations} >= {"victims", "source", "places"}
    lines = {r["meta"]["id"]: r for r in export(sqlite_store, "prodigy")}
    for s in lines["ar-1"]["spans"]:
        assert AR_TEXT[s["start"]:s["end"]] == s["text"]
    assert lines["ar-1"]["answer"] == "accept"


# -- command line ----------------------------------------------------------------------------
def test_review_refuses_a_public_address_without_a_token(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLAIMS_REVIEW_TOKEN", raising=False)
    code = main(["review", "--db", f"sqlite:///{tmp_path}/r.db", "--host", "0.0.0.0"])
    assert code == 2 and "without a token" in capsys.readouterr().err


def test_review_reports_a_bad_database_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["review", "--db", "mysql://x@y/z", "--no-serve"]) == 2
    assert "unsupported database" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_import_review_export_and_eval_round_trip(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Unlabelled documents go through the pipeline on import; an annotator finishes one;
    the export is a gold file that `claims validate` and `claims eval` accept."""
    db = f"sqlite:///{tmp_path}/r.db"
    source = Path(__file__).parents[1] / "corpora" / "en" / "dev.jsonl"
    lines = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()[:3]]
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n"
                              for d in lines) + "not json\n", encoding="utf-8")
    assert main(["review", str(inputs), "--db", db, "--no-serve"]) == 1  # one bad line
    assert "imported 3 documents" in capsys.readouterr().err
    st = Store(db)
    c = TestClient(create_app(st))
    c.get("/")
    for d in lines:
        _finish(c, d["id"], "ali")
    out = tmp_path / "gold.jsonl"
    assert main(["export", "--db", db, "--format", "gold", "-o", str(out)]) == 0
    exported = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [e["id"] for e in exported] == sorted(d["id"] for d in lines)
    assert main(["validate", str(out)]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    # the annotator accepted the model's claims unchanged, so the model agrees fully
    assert summary["all"]["claims"]["f1"] == 1.0
    assert main(["eval", "--review-db", db, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)["agreement"]
    assert found["model_vs_annotators"]["claims"]["f1"] == 1.0
    assert main(["eval", "--review-db", db]) == 0
    assert "model" in capsys.readouterr().out
