"""The `mlpath` command line: ingest, search, ask, eval, an interactive chat, the Slack bot and its scheduler.

Errors the user can fix print one line (`mlpath: error: …`) and exit with code 2; nothing prints a
traceback unless MLPATH_DEBUG=1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from errors import MlpathError, UserError
from mlpath.inputs import clean_text

if TYPE_CHECKING:  # the commands import what they need when they run: `mlpath path` loads no model
    from knowledge.answer import Answer
    from knowledge.mentor import Mentor
    from mlpath.app import Application, Who
    from mlpath.app.results import AnswerView, Notice
    from progress.answer_log import AnswerLog
    from progress.scheduler import Scheduler
    from progress.service import Progress

ASK_USAGE = 'ask a question, e.g. mlpath ask "what does SMOTE actually do?"'
SEARCH_USAGE = 'search needs a query, e.g. mlpath search "window functions"'
def _quiet_libraries() -> None:
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import logging

    for name in ("chromadb", "httpx", "sentence_transformers", "transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)


INGEST_STAGES = {"reading": "reading files", "embedding": "embedding chunks"}


def _mentor(*, ingest_if_empty: bool = True, rebuild: bool = False, warm: bool = True):  # type: ignore[no-untyped-def]
    """The mentor, loaded behind a spinner: the embedding model and the search index load here, once, rather
    than silently on the first question. A fresh data dir is ingested first, with a progress bar."""
    from mlpath import console
    from mlpath.settings import get_settings
    from mlpath.wiring import build_mentor

    with console.status("starting: opening the knowledge base…"):
        mentor = build_mentor(get_settings(), rebuild=rebuild)
    if ingest_if_empty and mentor.store.count() == 0:
        print("mlpath: first use, ingesting the bundled curriculum…", file=sys.stderr)
        with console.progress(INGEST_STAGES) as sink:
            mentor.ensure_ingested(progress=sink)
    if warm:
        with console.status("loading the embedding model and the search index…"):
            mentor.embedder.encode_one("warm up")
            if mentor.store.count():
                mentor.retriever.corpus()
    return mentor


def _level(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"level must be 1-4, got {value!r}") from None
    if not 1 <= number <= 4:
        raise argparse.ArgumentTypeError(f"level must be 1-4, got {value}")
    return number


def _track(value: str) -> str:
    if value.upper() not in {"A", "B", "C", "D", "E"}:
        raise argparse.ArgumentTypeError(f"track must be one of A-E, got {value!r}")
    return value.upper()


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if not 1 <= number <= 50:
        raise argparse.ArgumentTypeError(f"must be between 1 and 50, got {number}")
    return number


def _stdin_lines(stream: TextIO, usage: str) -> Iterator[str]:
    """Every line of standard input, stripped and cleaned — blank ones too, so that output line N always
    answers input line N. A person at a terminal is told what is expected instead of a silent wait."""
    if stream.isatty():
        from mlpath import console

        console.note(f"mlpath: {usage}; or type one per line here, then Ctrl-D")
    for line in stream:
        yield clean_text(line).strip()


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    sys.stdout.flush()


# ----- ingest -----
def cmd_ingest(args: argparse.Namespace) -> int:
    from mlpath import console

    mentor = _mentor(ingest_if_empty=False, rebuild=args.reset, warm=False)
    with console.progress(INGEST_STAGES) as sink:
        summary = mentor.ingest([Path(p) for p in args.paths] or None, progress=sink)
    if args.json:
        data = summary.as_json()
        _print_json({k: data[k] for k in ("chunks", "added", "updated", "removed", "unchanged", "seconds",
                                          "files", "skipped")})
    else:
        print(f"ingested {summary.files} file(s) in {summary.seconds:.1f}s: {summary.added} added, "
              f"{summary.updated} updated, {summary.removed} removed, {summary.unchanged} unchanged; "
              f"{summary.chunks} chunks in {mentor.store.location}")
        if summary.skipped:
            print(f"skipped {len(summary.skipped)} file(s), see the warnings above")
    return 0


# ----- search -----
def _search_one(mentor: Any, query: str, args: argparse.Namespace) -> Any:
    from knowledge.answer import prepare_question

    text, _ = prepare_question(query, mentor.settings.max_question_chars)
    return mentor.search(text, k=args.k, level=args.level, track=args.track)


def cmd_search(args: argparse.Namespace) -> int:
    from knowledge.answer import EmptyQuestion

    query = " ".join(args.query).strip()
    if args.query and not query:
        raise UserError(SEARCH_USAGE)
    mentor = _mentor()
    if not args.query:
        for number, line in enumerate(_stdin_lines(sys.stdin, SEARCH_USAGE), start=1):
            try:
                result = _search_one(mentor, line, args)
            except EmptyQuestion:
                _print_json({"line": number, "query": line, "error": "empty query"})
                continue
            _print_json({"line": number, "query": line, "hits": [h.as_json() for h in result.hits]})
        return 0
    try:
        result = _search_one(mentor, query, args)
    except EmptyQuestion:
        raise UserError(SEARCH_USAGE) from None
    if args.json:
        _print_json({"query": query, "hits": [h.as_json() for h in result.hits]})
        return 0
    if not result.hits:
        print("no results (is the knowledge base empty? run `mlpath ingest`)")
    for hit in result.hits:
        snippet = " ".join(hit.text.split())
        snippet = snippet[:200] + ("…" if len(snippet) > 200 else "")
        print(f"{hit.rank}. {hit.section}  [score {hit.score:.4f}, similarity {hit.similarity:.2f}]")
        print(f"   {hit.source}")
        print(f"   {snippet}")
    return 0


# ----- ask -----
def _stdout(piece: str) -> None:
    sys.stdout.write(piece)
    sys.stdout.flush()


def _answer(result: AnswerView | Notice) -> Answer:
    """The answer of `Application.ask`, or the application's one line (the rate limit, an unreachable
    knowledge base, a question with nothing to ask) as a user error."""
    from mlpath.app.results import Notice
    from mlpath.app.service import EMPTY_QUESTION
    from mlpath.terminal import ours

    if isinstance(result, Notice):
        raise UserError(ASK_USAGE if result.text == EMPTY_QUESTION else ours(result.text))
    return result.answer


def ask_streaming(app: Application, who: Who, question: str, *, out: Callable[[str], None],
                  write: Callable[[str], None], level: int | None = None) -> Answer:
    """`mlpath ask` with an LLM: the answer as it is written, then its note and sources."""
    from mlpath.terminal import format_answer

    streamed: list[str] = []

    def on_text(piece: str) -> None:
        streamed.append(piece)
        out(piece)

    answer = _answer(app.ask(who, question, level=level, on_text=on_text))
    if not streamed:
        write(format_answer(answer))
        return answer
    out("\n")
    if answer.answerer != "extractive" and "".join(streamed).strip() == answer.text.strip():
        write(format_answer(answer, text=False).lstrip("\n"))
    else:
        write("\n" + format_answer(answer))
    return answer


def answer_json(answer: Answer, question: str) -> dict[str, Any]:
    """An answer as `--json` prints it: the question as asked (so batch output matches its input), whether
    it was trimmed to its beginning, then the answer."""
    return {"question": question, "trimmed": bool(answer.trimmed), **answer.as_json()}


def cmd_ask(args: argparse.Namespace) -> int:
    """One question, or one per line of standard input, through the application like every other surface:
    the rate limit and the daily LLM budget of the person at the terminal apply, and each answer is in the
    answer log (surface "cli")."""
    question = " ".join(args.question).strip()
    if args.question and not question:
        raise UserError(ASK_USAGE)
    app, who = terminal_app(_mentor(), surface="cli")
    if not args.question:
        for number, line in enumerate(_stdin_lines(sys.stdin, ASK_USAGE), start=1):
            try:
                answer = _answer(app.ask(who, line, level=args.level))
            except UserError as exc:
                error = "empty question" if str(exc) == ASK_USAGE else str(exc)
                _print_json({"line": number, "question": line, "error": error})
                continue
            _print_json({"line": number, **answer_json(answer, line)})
        return 0
    if not args.json and app.mentor.llm is not None:
        ask_streaming(app, who, question, out=_stdout, write=print, level=args.level)
        return 0
    answer = _answer(app.ask(who, question, level=args.level))
    if args.json:
        _print_json(answer_json(answer, question))
    else:
        from mlpath.terminal import format_answer

        print(format_answer(answer))
    return 0


# ----- eval -----
def cmd_eval(args: argparse.Namespace) -> int:
    from knowledge.evaluation import evaluate, is_answer_evalset, load_evalset
    from mlpath import console

    if args.lowo:
        return _eval_lowo(args)
    if not args.file:
        raise UserError("name an eval set (FILE.jsonl), or use --lowo for the member sets")
    if is_answer_evalset(Path(args.file)):
        return _eval_answers(args)
    if args.split:
        raise UserError(f"{args.file} has no tune/test split (--split is for sets with key_points)")
    items = load_evalset(Path(args.file))
    mentor = _mentor()
    with console.progress({"questions": "eval questions"}) as sink:
        report = evaluate(mentor.retriever, items, k=args.k, threshold=mentor.settings.refusal_threshold,
                          confidence_k=mentor.settings.top_k, progress=sink)
    summary = report.summary()
    if args.calibrate:
        threshold, accuracy = report.calibrated_threshold()
        summary["calibrated_threshold"] = threshold
        summary["calibrated_refusal_accuracy"] = round(accuracy, 4)
    if args.json:
        summary["misses"] = [
            {"q": r.item.q, "expect": list(r.item.expect), "rank": r.rank, "refused": r.refused,
             "confidence": round(r.confidence, 4), "top_sections": list(r.top_sections)}
            for r in report.misses()
        ]
        _print_json(summary)
        return 0
    print(f"questions      {summary['questions']} ({summary['in_scope']} in scope, "
          f"{summary['out_of_scope']} out of scope)")
    print(f"hit@1          {report.hit_at_1:.3f}")
    print(f"hit@{args.k:<11}{report.hit_at_k:.3f}")
    print(f"MRR            {report.mrr:.3f}")
    print(f"refusal acc.   {report.refusal_accuracy:.3f}  (threshold {report.threshold})")
    if args.calibrate:
        print(f"calibrated     threshold {summary['calibrated_threshold']} → refusal accuracy "
              f"{summary['calibrated_refusal_accuracy']:.3f}")
    misses = report.misses()
    if misses:
        print(f"\nmisses ({len(misses)}):")
        for r in misses:
            why = ("not found in top " + str(args.k)) if r.in_scope and r.rank is None else (
                "refused" if r.refused else "answered but should be refused")
            print(f"- {r.item.q}  [{why}; confidence {r.confidence:.3f}]")
            if r.top_sections:
                print(f"    top: {r.top_sections[0]}")
    return 0


def _eval_answers(args: argparse.Namespace) -> int:
    """Score the answers themselves (docs/evalsets.md): key-point coverage in scope, refusals out of scope."""
    from knowledge.evaluation import evaluate_answers, load_answer_evalset
    from mlpath import console

    items = load_answer_evalset(Path(args.file), split=args.split)
    mentor = _mentor()
    with console.progress({"questions": "eval questions"}) as sink:
        report = evaluate_answers(mentor.ask, items, context=mentor.context, progress=sink)
    summary = report.summary()
    summary["split"] = args.split or "all"
    failures = report.failures() if args.failures else []
    if args.json:
        if args.failures:
            summary["failures"] = [{"id": r.item.id, "q": r.item.q, "kind": r.item.kind, "answer": r.text,
                                    "refused": r.refused, "coverage": round(r.coverage, 4)} for r in failures]
        _print_json(summary)
        return 0
    print(f"questions      {summary['questions']} ({summary['in_scope']} in scope, {summary['out_of_scope']} "
          f"out of scope; split {summary['split']})")
    print(f"coverage       {report.coverage():.3f}  (key points found in in-scope answers)")
    print(f"context        {report.context_coverage():.3f}  (key points in the top three passages: what the answers "
          "could hold)")
    print(f"refusal        {report.refusal():.3f}  (out-of-scope questions refused)")
    print(f"false refusals {report.false_refusals():.3f}  (in-scope questions refused)")
    print(f"answer length  {report.answer_words():.0f} words  (mean, in-scope answers, closing line included)")
    for kind, entry in summary["kinds"].items():
        figures = "  ".join(f"{name} {entry[name]:.3f}" for name in ("coverage", "context_coverage", "refusal")
                            if name in entry).replace("context_coverage", "context")
        print(f"  {kind:<13}{entry['questions']:>3}  {figures}")
    for r in failures:
        missing = [p[0] for p, ok in zip(r.item.key_points, r.found, strict=True) if not ok]
        why = "answered but should be refused" if not r.item.in_scope else (
            "refused" if r.refused else "missing: " + "; ".join(missing))
        print(f"\n- [{r.item.id} {r.item.kind}] {r.item.q}\n  {why}\n  " + r.text.replace("\n", "\n  "))
    return 0


def _fit_answerer(folder: Path):  # type: ignore[no-untyped-def]
    """An answerer over the bundled curriculum alone, in a temporary store (fit and --lowo never read ./data:
    a team's documents would change the features, so the same command gives the same weights anywhere)."""
    from knowledge.embedding import shared_embedder
    from knowledge.fit import curriculum_answerer
    from mlpath import console
    from mlpath.settings import get_settings

    with console.status("ingesting the bundled curriculum into a temporary store…"):
        return curriculum_answerer(shared_embedder(get_settings().embedding_model), folder)


def _eval_lowo(args: argparse.Namespace) -> int:
    """Leave one writer out: for each member set, fit on the others and score it (docs/retrieval.md)."""
    import tempfile

    from knowledge.fit import build_examples, extra_examples, lowo, member_sets
    from mlpath import console

    folder = Path(args.file) if args.file else None
    if folder is not None and not folder.is_dir():
        raise UserError(f"--lowo takes a folder of member sets (members-N.jsonl), not {folder}")
    sets = member_sets(folder)
    if len(sets) < 2:
        raise UserError("leave-one-writer-out needs at least two member sets (members-N.jsonl)")
    unknown = [name for name in args.set or () if name not in sets]
    if unknown:
        raise UserError(f"no member set {unknown[0]!r}; the sets are {', '.join(sets)}")
    with tempfile.TemporaryDirectory(prefix="mlpath-lowo-") as tmp:
        answerer = _fit_answerer(Path(tmp))
        with console.progress({"questions": "labelling questions"}) as sink:
            examples = build_examples(answerer, sets, progress=lambda done, total: sink("questions", done, total))
        extra = extra_examples(answerer)
        results = lowo(answerer, sets, examples=examples, extra=extra, only=args.set,
                       log=lambda line: print(f"mlpath: {line}", file=sys.stderr))
    rows = [{"set": r.name, "questions": r.questions, "coverage": round(r.coverage, 4),
             "context_coverage": round(r.context_coverage, 4), "refusal": round(r.refusal, 4),
             "false_refusals": round(r.false_refusals, 4), "answer_words": round(r.answer_words, 1)}
            for r in results]
    summary: dict[str, object] = {"sets": rows}
    if results:
        summary["mean"] = {name: round(sum(getattr(r, name) for r in results) / len(results), 4)
                           for name in ("coverage", "context_coverage", "refusal", "false_refusals")}
        summary["worst"] = {name: round(min(getattr(r, name) for r in results), 4) for name in ("coverage", "refusal")}
    if args.json:
        _print_json(summary)
        return 0
    print(f"{'left out':<12}{'questions':>10}{'coverage':>10}{'context':>9}{'refusal':>9}{'false ref.':>11}"
          f"{'words':>7}")
    for row in rows:
        print(f"{row['set']:<12}{row['questions']:>10}{row['coverage']:>10.3f}{row['context_coverage']:>9.3f}"
              f"{row['refusal']:>9.3f}{row['false_refusals']:>11.3f}{row['answer_words']:>7.0f}")
    if results:
        mean, worst = summary["mean"], summary["worst"]
        assert isinstance(mean, dict) and isinstance(worst, dict)
        print(f"{'mean':<22}{mean['coverage']:>10.3f}{mean['context_coverage']:>9.3f}{mean['refusal']:>9.3f}"
              f"{mean['false_refusals']:>11.3f}")
        print(f"{'worst':<22}{worst['coverage']:>10.3f}{'':>9}{worst['refusal']:>9.3f}")
    return 0


# ----- fit -----
def cmd_fit(args: argparse.Namespace) -> int:
    """Fit the answer path's parameters on the member sets and write the model file (docs/retrieval.md)."""
    import tempfile

    from knowledge.fit import fit_bundled, member_sets
    from knowledge.model import default_model_path
    from mlpath import console

    folder = Path(args.sets) if args.sets else None
    if folder is not None and not folder.is_dir():
        raise UserError(f"--sets takes a folder of member sets (members-N.jsonl), not {folder}")
    sets = member_sets(folder)
    if not sets:
        raise UserError(f"no member sets (members-N.jsonl) in {folder}")
    out = Path(args.out) if args.out else default_model_path()
    if out.exists() and out.is_dir():
        raise UserError(f"--out names a folder, not a file: {out}")
    with tempfile.TemporaryDirectory(prefix="mlpath-fit-") as tmp:
        answerer = _fit_answerer(Path(tmp))
        with console.progress({"questions": "labelling questions"}) as sink:
            model = fit_bundled(answerer, sets, progress=lambda done, total: sink("questions", done, total))
    try:
        model.save(out)
    except OSError as exc:
        raise UserError(f"cannot write {out} ({exc.strerror or exc})") from None
    total = sum(len(items) for items in sets.values())
    print(f"fitted on {total} questions from {len(sets)} member sets, the cards' examples and the everyday "
          f"subjects; scope cut {model.setting('scope_cut', 0.5):.2f}; written to {out}")
    return 0


# ----- path -----
def cmd_path(args: argparse.Namespace) -> int:
    """The outline the chat's `/path` and Slack's `/mlpath path` show (one result, mlpath.app.path_view), with
    no model and no database: it is the catalogue's data."""
    from mlpath.app.service import path_view
    from mlpath.terminal import render

    view = path_view(args.level)
    if args.json:
        _print_json({"title": view.title, "levels": [
            {"level": lvl.number, "name": lvl.name, "months": list(lvl.duration_months),
             "modules": [{"id": m.id, "title": m.title, "topics": [t.title for t in m.topics]} for m in lvl.modules],
             "tracks": [{"id": t.id, "title": t.title, "topics": [x.title for x in t.topics]} for t in lvl.tracks]}
            for lvl in view.levels]})
        return 0
    print(render(view))
    return 0


# ----- chat -----
def terminal_app(mentor: Mentor, *, progress: Progress | None = None, answer_log: AnswerLog | None = None,
                 surface: str = "terminal") -> tuple[Application, Who]:
    """The application for the person at this terminal (`mlpath chat`, `mlpath ask`), built by the composition
    root from the settings the mentor was built from, and who they are (TZ, or UTC)."""
    from typing import cast

    from mlpath.settings import Settings, get_settings
    from mlpath.terminal import terminal_member
    from mlpath.wiring import build_application

    settings = cast(Settings, mentor.settings)  # the shell builds mentors from Settings
    app = build_application(settings, mentor, progress=progress, answer_log=answer_log)
    return app, terminal_member(get_settings().local_tz, surface)


def run_chat(mentor: Mentor, *, level: int | None, read: Callable[[str], str] | None = None,
             write: Callable[[str], None] = print, progress: Progress | None = None,
             answer_log: AnswerLog | None = None, out: Callable[[str], None] | None = None) -> int:
    """`mlpath chat`: the terminal front end (mlpath/terminal.py) over the application layer. LLM answers
    stream to `out` (stdout when `write` is print)."""
    from mlpath.terminal import read_line
    from mlpath.terminal import run_chat as chat

    if out is None and write is print:
        out = _stdout
    app, who = terminal_app(mentor, progress=progress, answer_log=answer_log)
    return chat(app, who, level=level, read=read or read_line, write=write, out=out)


def cmd_chat(args: argparse.Namespace) -> int:
    mentor = _mentor()
    return run_chat(mentor, level=args.level)


def cmd_db(args: argparse.Namespace) -> int:
    from mlpath.settings import get_settings
    from progress.db import upgrade

    settings = get_settings()
    upgrade(settings.database)
    print(f"database is up to date ({settings.database.split('@')[-1]})")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.app import check_slack_settings
    from mlpath.logs import configure_logging
    from mlpath.settings import get_settings
    from mlpath.wiring import serve

    settings = get_settings()
    check_slack_settings(settings, http=args.http)  # before the model loads: a missing token is one line at once
    configure_logging(settings)
    serve(settings, _mentor(), http=args.http, host=args.host, port=args.port)
    return 0


def _scheduler() -> Scheduler:
    """The scheduler with its weekly check-ins (mlpath/wiring.py): SLACK_BOT_TOKEN only, no embedding model."""
    from mlpath.settings import get_settings
    from mlpath.wiring import build_scheduler

    return build_scheduler(get_settings())


def _instant(value: str) -> Any:
    """--at: an ISO-8601 instant; without an offset it is UTC."""
    from datetime import UTC, datetime

    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"“{value}” is not an ISO-8601 time such as 2026-11-26T09:00:00+01:00") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _week(value: str) -> str:
    from progress.scheduler import parse_week

    try:
        start = parse_week(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d}"


def _logging() -> None:
    """One line per event (JSON with LOG_FORMAT=json), secrets redacted — as `mlpath serve` logs."""
    import logging

    from mlpath.logs import configure_logging
    from mlpath.settings import get_settings

    configure_logging(get_settings())
    logging.getLogger("alembic").setLevel(logging.WARNING)


def cmd_scheduler(args: argparse.Namespace) -> int:
    import signal
    import threading

    from mlpath.ops import serve_ops_from_settings
    from mlpath.settings import get_settings

    _logging()
    scheduler = _scheduler()
    ops = serve_ops_from_settings(get_settings(), db=scheduler.db)  # /metrics and /healthz on METRICS_PORT
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if args.once:
        report = scheduler.tick()
        print(f"nudges: {report.line()}")
        return 0
    from mlpath import metrics

    try:
        scheduler.run_forever(stop, on_tick=metrics.SCHEDULER_TICKS.inc)
    finally:
        if ops is not None:
            ops.close()
    return 0


def cmd_nudges(args: argparse.Namespace) -> int:
    import logging

    _logging()
    scheduler = _scheduler()
    try:  # as the long-running scheduler does: re-read up to 50 stale time zones first
        scheduler.refresh_time_zones(args.at)
    except Exception:  # noqa: BLE001 — a Slack hiccup must not stop the reminders
        logging.getLogger("mlpath.scheduler").exception("time zone refresh failed")
    report = scheduler.run_nudges(args.at)
    _print_report("nudges", report, as_json=args.json)
    return 0


def _print_report(name: str, report: Any, *, as_json: bool) -> None:
    if as_json:
        _print_json({"due": report.due, "sent": report.sent, "recovered": report.recovered,
                     "skipped": report.skipped, "failed": report.failed, "unreachable": report.unreachable,
                     "retry": report.retry, "lost_race": report.lost_race, "errors": report.errors})
    else:
        print(f"{name}: {report.line()}")


def cmd_checkins(args: argparse.Namespace) -> int:
    """The weekly check-ins due at that instant, once (for cron; the long-running scheduler sends them too)."""
    _logging()
    scheduler = _scheduler()
    _print_report("checkins", scheduler.run_checkins(args.at), as_json=args.json)
    return 0


def _check_week(week: str, now: Any, team_tz: str, *, force: bool) -> None:
    """A week is posted once (the claim is used up), so only a week that has ended may be posted: a week
    still running would be posted with part of its XP, and the real post would then be skipped. `--force`
    allows the current week; a week that has not started is always refused."""
    from datetime import timedelta

    from progress.scheduler import parse_week
    from progress.service import zone

    today = now.astimezone(zone(team_tz)).date()
    start = parse_week(week)
    if today >= start + timedelta(days=7):
        return
    if today < start:
        raise UserError(f"{week} has not started yet ({team_tz}): only a week that has ended can be posted")
    if not force:
        raise UserError(f"{week} has not ended yet (it ends on Sunday night, {team_tz}); posting it now would use "
                        "up its once-only post with part of its XP. Add --force to post the current week anyway")


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from mlpath.settings import get_settings

    settings = get_settings()
    if not settings.leaderboard_channel:
        raise UserError("LEADERBOARD_CHANNEL is not set: nothing to post (set it to the channel id, C…)")
    now = args.at or datetime.now(UTC)
    if args.week:
        _check_week(args.week, now, settings.team_tz, force=args.force)
    _logging()
    scheduler = _scheduler()
    outcomes = scheduler.post_leaderboard(args.week, now=now, retry_failed=True)
    if not outcomes:
        print("leaderboard: no members yet, nothing posted")
    for team, outcome in outcomes:
        print(f"leaderboard {team}: {outcome}")
    return 1 if any(o.startswith("failed") for _, o in outcomes) else 0
def cmd_quiz(args: argparse.Namespace) -> int:
    """`mlpath quiz draft`: LLM-written question drafts, validated, into a review file (never the live bank)."""
    from knowledge.llm import build_chat_model
    from knowledge.quiz_draft import draft_quiz
    from mlpath.settings import get_settings

    settings = get_settings()
    model = build_chat_model(settings, max_tokens=min(32_000, 450 * args.count + 300))
    if model is None:
        raise UserError("quiz drafting needs an LLM: set MLPATH_LLM (e.g. openai:gpt-4o-mini), see docs/llm.md")
    from mlpath import console

    with console.status(f"asking the LLM for {args.count} draft question(s)…"):
        report = draft_quiz(model, level=args.level, topic=args.topic, count=args.count,
                            data_dir=settings.data_dir, timeout=settings.llm_timeout,
                            out=Path(args.out) if args.out else None)
    print(f"{len(report.accepted)} draft(s) passed validation, {len(report.rejected)} rejected; "
          f"review file: {report.path}")
    for rejected in report.rejected:
        print(f"  rejected: {rejected['reason']}")
    print(f"Nothing is live yet: move the questions you accept into knowledge/quizzes/level-{args.level}.yaml.")
    return 0 if report.accepted else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlpath", description="An AI/ML learning mentor for your team.",
        epilog="Start with `mlpath chat` (the mentor in this terminal) or `mlpath path` (the learning path). "
               "`mlpath COMMAND --help` describes each command; docs/cli.md has them all.")
    parser.add_argument("--version", action="version", version=f"mlpath {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("path", help="the learning path: levels, modules, topics and Level 4 tracks")
    p.add_argument("--level", type=_level, help="only this level (1-4)")
    p.add_argument("--json", action="store_true", help="print the outline as one JSON object")
    p.set_defaults(func=cmd_path)

    p = sub.add_parser("ingest", help="embed the bundled curriculum or your own files into the store")
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (.md, .txt, .html, .pdf)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--reset", action="store_true", help="drop the collection first (after changing models)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", help="ranked passages for a query (stdin: one query per line → JSON lines)")
    p.add_argument("query", nargs="*", metavar="QUERY", help="what to look for (none: read standard input)")
    p.add_argument("-k", type=_positive, default=None, help="how many passages to show, 1-50 (default MLPATH_TOP_K)")
    p.add_argument("--level", type=_level, help="only passages of this level (1-4)")
    p.add_argument("--track", type=_track, help="only passages of this Level 4 track (A-E)")
    p.add_argument("--json", action="store_true", help="print {query, hits} as one JSON line")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="a grounded answer with citations (stdin: one question per line)")
    p.add_argument("question", nargs="*", metavar="QUESTION",
                   help="your question (none: read standard input, one question per line)")
    p.add_argument("--level", type=_level, help="the asker's level (1-4), preferred in retrieval")
    p.add_argument("--json", action="store_true",
                   help="print {question, trimmed, answer, citations, grounded, answerer} as one JSON line")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="retrieval (hit@k, MRR, refusal) or, for a set with key points, answer "
                                    "coverage, context coverage and refusal over a JSONL eval set; "
                                    "--lowo: leave one writer out over the member sets")
    p.add_argument("file", metavar="FILE.jsonl", nargs="?",
                   help='one {"q": question, "expect": [phrases a right passage contains]} per line, or a set '
                        'with "key_points" (docs/evalsets.md); with --lowo, a folder of member sets (default: '
                        'the bundled knowledge/evalsets)')
    p.add_argument("--lowo", action="store_true",
                   help="leave one writer out: for each member set, fit on the others and score it")
    p.add_argument("--set", action="append", metavar="NAME",
                   help="with --lowo: only leave out this set (members-N; repeatable)")
    p.add_argument("-k", type=_positive, default=3, help="a hit is an expected passage in the top k, 1-50 "
                                                         "(default 3)")
    p.add_argument("--calibrate", action="store_true", help="also print the best refusal threshold")
    p.add_argument("--split", choices=["tune", "test"], help="only this half of a set with key points")
    p.add_argument("--failures", action="store_true",
                   help="print the answers that missed key points or refusals (never tune on the test half's)")
    p.add_argument("--json", action="store_true", help="print the metrics and the misses as one JSON object")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("fit", help="fit the answer path's parameters on the member sets (writes the model file)")
    p.add_argument("--sets", metavar="FOLDER", help="a folder of member sets (default: the bundled ones)")
    p.add_argument("--out", metavar="FILE", help="where to write the model (default: knowledge/answer_model.json)")
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("db", help="database maintenance")
    p.add_argument("action", choices=["upgrade"], help="upgrade: apply all migrations")
    p.set_defaults(func=cmd_db)

    p = sub.add_parser("serve", help="run the Slack bot (Socket Mode, or --http for Bolt's HTTP endpoints)")
    p.add_argument("--http", action="store_true", help="serve /slack/events and /healthz over HTTP")
    p.add_argument("--port", type=int, default=None, help="HTTP port (default PORT or 3000)")
    p.add_argument("--host", default="0.0.0.0", help="HTTP bind address (default 0.0.0.0)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("scheduler", help="send the daily reminder DMs and the weekly leaderboard post (runs until "
                                         "stopped; safe to run several)")
    p.add_argument("--once", action="store_true", help="one check, then exit")
    p.set_defaults(func=cmd_scheduler)

    p = sub.add_parser("nudges", help="reminder DMs for cron: `mlpath nudges run [--at ISO-8601]`")
    p.add_argument("action", choices=["run"], help="run: send the DMs due at that instant (twice sends nothing new)")
    p.add_argument("--at", type=_instant, default=None, help="the instant (default now), e.g. 2026-11-26T09:00Z")
    p.add_argument("--json", action="store_true", help="print the run's counts as one JSON object")
    p.set_defaults(func=cmd_nudges)

    p = sub.add_parser("checkins", help="weekly check-in DMs for cron: `mlpath checkins run [--at ISO-8601]`")
    p.add_argument("action", choices=["run"], help="run: send the check-ins due at that instant (once per week)")
    p.add_argument("--at", type=_instant, default=None, help="the instant (default now), e.g. 2026-11-30T08:30Z")
    p.add_argument("--json", action="store_true", help="print the run's counts as one JSON object")
    p.set_defaults(func=cmd_checkins)

    p = sub.add_parser("leaderboard", help="`mlpath leaderboard post [--week YYYY-Www]` to LEADERBOARD_CHANNEL")
    p.add_argument("action", choices=["post"], help="post: the week's leaderboard, once per week")
    p.add_argument("--week", type=_week, default=None,
                   help="ISO week, e.g. 2026-W47 (default: the last week that has ended, in TEAM_TZ)")
    p.add_argument("--force", action="store_true", help="allow --week to name the current, unfinished week")
    p.add_argument("--at", type=_instant, default=None,
                   help="the instant to post as (default now), e.g. 2026-11-30T09:00Z")
    p.set_defaults(func=cmd_leaderboard)
    p = sub.add_parser("quiz", help="quiz bank tools: `quiz draft` asks the LLM for new questions to review")
    quiz_sub = p.add_subparsers(dest="quiz_command", metavar="ACTION", required=True)
    q = quiz_sub.add_parser("draft", help="draft new questions from curriculum sections into a review file")
    q.add_argument("--level", type=_level, required=True, help="the level (1-4) the questions are for")
    q.add_argument("--topic", help="one topic of that level (catalogue id or title); default: any")
    q.add_argument("--count", type=_positive, default=5, help="how many drafts (default 5, at most 50)")
    q.add_argument("--out", help="review file (default data/quiz-drafts/level-N-<time>.yaml)")
    q.set_defaults(func=cmd_quiz)

    p = sub.add_parser("chat", help="talk to the mentor in the terminal (quizzes, progress and habits too)")
    p.add_argument("--level", type=_level, help="answer with this level (1-4) in mind (/level N changes it)")
    p.set_defaults(func=cmd_chat)
    _add_ops_commands(sub)
    _add_mentoring_commands(sub)
    return parser


# ----- operations: export, import, stats -----
def _progress_db():  # type: ignore[no-untyped-def]
    from mlpath.settings import get_settings
    from progress.setup import open_progress

    return open_progress(get_settings().database).db


def cmd_export(args: argparse.Namespace) -> int:
    from progress.transfer import TABLES, export_data

    data = export_data(_progress_db())
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    if args.file == "-":
        sys.stdout.write(text)
        return 0
    target = Path(args.file)
    tmp = target.with_name(target.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)  # a crash never leaves half a file under the real name
    except OSError as exc:
        raise UserError(f"cannot write {target} ({exc.strerror or exc})") from None
    counts = ", ".join(_count(len(data[name]), name) for name, _, _ in TABLES)
    print(f"exported {counts} to {target}", file=sys.stderr)
    return 0


_NOUNS = {"members": ("member", "members"), "deliveries": ("delivery", "deliveries"), "cards": ("card", "cards"),
          "xp_events": ("XP event", "XP events"), "habit_checkins": ("habit check-in", "habit check-ins"),
          "answers": ("answer", "answers"), "claims": ("claim", "claims")}


def _count(n: int, table: str) -> str:
    """"1 member", "3 members": the export's table names as words."""
    one, many = _NOUNS.get(table, (table.replace("_", " "),) * 2)
    return f"{n} {one if n == 1 else many}"


def cmd_import(args: argparse.Namespace) -> int:
    from progress.transfer import import_data, read_export

    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {args.file} ({getattr(exc, 'strerror', None) or exc})") from None
    data = read_export(text)
    report = import_data(_progress_db(), data)
    if args.json:
        _print_json(report)
    else:
        parts = [f"{name.replace('_', ' ')} {r['added']} added, {r['present']} already there"
                 for name, r in report.items()]
        print("imported: " + "; ".join(parts))
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from progress.stats import collect, format_stats

    stats = collect(_progress_db(), top=args.top)
    if args.json:
        _print_json(stats.as_json())
    else:
        print(format_stats(stats))
    return 0


# ----- mentoring: the team view for leads (issue 14) -----
def format_team(report: Any) -> str:
    """The team report as text: levels and tracks, who is behind or inactive, projects and certifications.
    Members who opted out of the leaderboard are counted, never named."""
    def who(m: Any) -> str:
        if m.user_id is None:
            return "a member who opted out"
        return f"{m.name} (Level {m.level}{f' {m.track}' if m.track else ''})"

    lines = [f"Team {report.team_id}: {len(report.members)} members"]
    lines.append("  by level: " + (", ".join(f"Level {k}: {v}" for k, v in report.by_level.items()) or "none"))
    lines.append(f"  behind plan ({len(report.behind)}): " + (", ".join(who(m) for m in report.behind) or "nobody"))
    lines.append(f"  inactive 14+ days ({len(report.inactive)}): "
                 + (", ".join(f"{who(m)} {m.inactive_days} d" for m in report.inactive) or "nobody"))
    lines.append("  projects: " + ", ".join(f"{k} {v['started']} in progress, {v['done']} done"
                                            for k, v in report.projects.items()))
    lines.append("  certifications: " + ", ".join(f"{k} {v['planned']} planned, {v['passed']} passed"
                                                  for k, v in report.certifications.items()))
    lines.append(f"  buddies: {report.buddies} offer help; {report.buddy_offers} intros offered, "
                 f"{report.buddy_intros} accepted in 30 days")
    return "\n".join(lines)


def cmd_team(args: argparse.Namespace) -> int:
    from mlpath.settings import get_settings
    from progress import repository as repo
    from progress.mentoring import Mentoring
    from progress.setup import open_progress

    progress = open_progress(get_settings().database)
    with progress.db.session() as s:
        teams = repo.team_ids(s)
    if args.team:
        if args.team not in teams:
            raise UserError(f"no active members in team {args.team} (teams: {', '.join(teams) or 'none yet'})")
        teams = [args.team]
    if args.png:
        return _team_png(progress, teams, args.png)
    mentoring = Mentoring(progress)
    reports = [mentoring.team_report(team) for team in teams]
    if args.json:
        _print_json({"teams": [r.to_json() for r in reports]})
    else:
        print("\n\n".join(format_team(r) for r in reports) or "no members yet")
    return 0


def _team_png(progress: Any, teams: list[str], path: str) -> int:
    """`mlpath team --png FILE`: the weekly chart of the last complete week (TEAM_TZ), as posted beside the
    leaderboard, for one team."""
    from mlpath.settings import get_settings
    from mlpath.terminal import save_png
    from progress.charts import render_team
    from progress.scheduler import last_complete_week, parse_week
    from progress.service import utcnow, zone

    if len(teams) != 1:
        raise UserError("--png draws one team: choose it with --team "
                        f"(teams: {', '.join(teams) or 'none yet'})")
    week = last_complete_week(utcnow().astimezone(zone(get_settings().team_tz)).date())
    data = progress.team_chart(teams[0], week_start=parse_week(week))
    target = save_png(render_team(data), path)
    print(f"team {teams[0]}, week {week}: chart written to {target} ({data.alt_text()})")
    return 0


def _add_mentoring_commands(sub: Any) -> None:
    p = sub.add_parser("team", help="the team view for leads: levels, behind plan, inactive 14+ days, projects")
    p.add_argument("--team", help="one Slack team id (default: every team)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--png", metavar="FILE", help="write the team's weekly chart (last complete week) as PNG instead")
    p.set_defaults(func=cmd_team)


def _add_ops_commands(sub: Any) -> None:
    p = sub.add_parser("export", help="write members, progress and the answer log to a JSON file")
    p.add_argument("file", metavar="FILE", help="where to write (- for standard output)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="add what is missing from an export file (idempotent, never overwrites)")
    p.add_argument("file", metavar="FILE", help="an `mlpath export` file (- for standard input)")
    p.add_argument("--json", action="store_true", help="print {table: {added, present}}")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("stats", help="members, active this week, questions, refusals, top 👎 questions")
    p.add_argument("--top", type=_positive, default=10, help="how many 👎 questions, 1-50 (default 10)")
    p.add_argument("--json", action="store_true", help="print the numbers as one JSON object")
    p.set_defaults(func=cmd_stats)


def _redact(text: str) -> str:
    from mlpath.logs import redact

    return redact(text)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlpath")
    except PackageNotFoundError:  # running from a checkout that was never installed
        from mlpath import __version__

        return str(__version__)


def main(argv: list[str] | None = None) -> int:
    if hasattr(sys.stdin, "reconfigure"):  # bytes that are not UTF-8 on standard input: U+FFFD, not a crash
        sys.stdin.reconfigure(errors="replace")
    parser = build_parser()
    args = parser.parse_args([clean_text(a) for a in (sys.argv[1:] if argv is None else argv)])
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _quiet_libraries()
    try:
        return int(args.func(args))
    except MlpathError as exc:  # redacted: a start-up error may name a URL with credentials or echo a key
        print(f"mlpath: error: {_redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("mlpath: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # last line of defence: one line, never a traceback for users
        # read directly, not through Settings: the last line of defence must work whatever state Settings is in
        if os.environ.get("MLPATH_DEBUG"):
            raise
        print(f"mlpath: unexpected error: {type(exc).__name__}: {_redact(str(exc))} (set MLPATH_DEBUG=1 for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
