"""Runs mpi4py's own test suite (the test/ folder of its sdist) in one MPI process and records
every test's outcome as it happens, so that a crash or a hang loses nothing already known.

Started by scripts/mpi4py-conformance, once per rank (under `ferry run`) or alone (singleton).
Writes, in --out:
  rank<R>.jsonl   one JSON object per line: {"event": "init"} before MPI_Init, {"event": "plan",
                  "ids": [...]} with the tests about to run, {"event": "start", "id": ...} before a test,
                  {"event": "end", "id": ..., "outcome": "ok|fail|error|skip", "seconds": ...,
                  "detail": ...} after it, {"event": "done"} once every test ran
  rank<R>.hang    Python tracebacks of all threads if a test (or MPI_Init, or the exit with
                  MPI_Finalize) outlived --test-timeout; the process then exits with status 1
  rank<R>.log     unittest's verbose text output
R is PMI_RANK (0 for a singleton). Tests are loaded with unittest from the test modules the way
mpi4py's test/main.py does (test/ on sys.path, no CuPy/Numba), and run in the same order on
every rank; --exclude drops exact test ids (tests already run by an earlier attempt).
"""

import argparse
import faulthandler
import json
import os
import sys
import time
import traceback
import unittest


def test_id(test):
    """unittest's id, with the placeholders for errors outside a test renamed after their
    module or class: `test_file.[import]`, `test_x.TestY.[setUpClass]`."""
    name = test.id()
    if name.startswith("unittest.loader._FailedTest."):
        return name.rsplit(".", 1)[1] + ".[import]"
    if " (" in name and name.endswith(")"):  # _ErrorHolder: "setUpClass (test_x.TestY)"
        fixture, owner = name[:-1].split(" (", 1)
        return f"{owner}.[{fixture}]"
    return name


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--testdir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--module", action="append", default=[], help="test module (default: all)")
    parser.add_argument("--exclude-file", help="file with one test id per line to leave out")
    parser.add_argument("--test-timeout", type=float, default=60.0)
    args = parser.parse_args()

    rank = int(os.environ.get("PMI_RANK", "0"))
    os.makedirs(args.out, exist_ok=True)
    events = open(os.path.join(args.out, f"rank{rank}.jsonl"), "a", buffering=1, encoding="utf-8")
    hang = open(os.path.join(args.out, f"rank{rank}.hang"), "w", encoding="utf-8")
    log = open(os.path.join(args.out, f"rank{rank}.log"), "a", buffering=1, encoding="utf-8")

    def record(**fields):
        events.write(json.dumps(fields) + "\n")
        events.flush()

    def watch(seconds):
        faulthandler.dump_traceback_later(seconds, exit=True, file=hang)

    excluded = set()
    if args.exclude_file:
        with open(args.exclude_file, encoding="utf-8") as f:
            excluded = {line.strip() for line in f if line.strip()}

    # The set-up of mpi4py's test/main.py: its helpers importable, no GPU array libraries.
    sys.path.insert(0, args.testdir)
    sys.modules["cupy"] = None
    sys.modules["numba"] = None
    sys.dont_write_bytecode = True
    watch(args.test_timeout)
    record(event="init")
    import mpi4py.MPI  # noqa: F401  (MPI_Init happens here)
    faulthandler.cancel_dump_traceback_later()

    loader = unittest.TestLoader()
    if args.module:
        suite = loader.loadTestsFromNames(args.module)
    else:
        suite = loader.discover(args.testdir, pattern="test_*.py", top_level_dir=args.testdir)

    def flatten(s):
        for t in s:
            if isinstance(t, unittest.TestSuite):
                yield from flatten(t)
            else:
                yield t

    tests = [t for t in flatten(suite) if test_id(t) not in excluded]
    record(event="plan", ids=[test_id(t) for t in tests])

    class Recorder(unittest.TextTestResult):
        """Writes a start record before each test and one end record after it (its worst
        outcome, subtests included); fixture errors (setUpClass, ...) get a record of their own."""

        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.current = None
            self.outcome = None
            self.detail = ""
            self.started = 0.0

        def startTest(self, test):
            self.current, self.outcome, self.detail = test_id(test), "ok", ""
            self.started = time.monotonic()
            record(event="start", id=test_id(test))
            watch(args.test_timeout)
            super().startTest(test)

        def stopTest(self, test):
            super().stopTest(test)
            faulthandler.cancel_dump_traceback_later()
            record(event="end", id=test_id(test), outcome=self.outcome,
                   seconds=round(time.monotonic() - self.started, 3), detail=self.detail[-2000:])
            self.current = None

        def _note(self, test, outcome, detail):
            rank_of = {"ok": 0, "skip": 1, "fail": 2, "error": 3}
            if self.current is not None and test_id(test) == self.current:
                if rank_of[outcome] > rank_of[self.outcome]:
                    self.outcome, self.detail = outcome, detail
            else:
                record(event="end", id=test_id(test), outcome=outcome, seconds=0.0, detail=detail[-2000:])

        def _text(self, err):
            return "".join(traceback.format_exception(*err)) if isinstance(err, tuple) else str(err)

        def addError(self, test, err):
            super().addError(test, err)
            self._note(test, "error", self._text(err))

        def addFailure(self, test, err):
            super().addFailure(test, err)
            self._note(test, "fail", self._text(err))

        def addSkip(self, test, reason):
            super().addSkip(test, reason)
            self._note(test, "skip", reason)

        def addUnexpectedSuccess(self, test):
            super().addUnexpectedSuccess(test)
            self._note(test, "fail", "unexpected success")

        def addSubTest(self, test, subtest, err):
            super().addSubTest(test, subtest, err)
            if err is not None:
                failed = issubclass(err[0], test.failureException)
                self._note(test, "fail" if failed else "error", f"{subtest}: " + self._text(err))

    runner = unittest.TextTestRunner(stream=log, verbosity=2, resultclass=Recorder)
    runner.run(unittest.TestSuite(tests))
    record(event="done")
    # MPI_Finalize runs at exit (mpi4py's atexit hook): bound it too.
    watch(args.test_timeout)


if __name__ == "__main__":
    main()
