"""`make mutate`: mutation testing of the modules that decide what users trust (issue 14).

mutmut (pyproject.toml's [tool.mutmut] names the modules and the fast tests) changes one thing at a time in
those modules (a `<` into `<=`, a `True` into `False`, a string into another) and runs the tests that call the
changed function: a mutant is killed when a test fails, and survives when every test still passes. This prints,
per module, the mutants killed, survived and in all and the kill rate, then the overall rate and the names of
the survivors (`.venv/bin/mutmut show NAME` shows one as a diff).

Usage: .venv/bin/python scripts/mutate.py [--jobs N] [--keep] [--report-only]
  --jobs N       mutants tested at once (default 2: the machine is shared)
  --keep         reuse the results of the previous run for the functions that did not change (mutmut's cache)
  --report-only  print the table of the previous run without running anything
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
# records/verification.py is the verdict logic of verifying a record (its pyHanko side, whose tests sign PDFs, is
# records/pdf_reading.py and not mutated): the functions below are counted, as before the split.
COUNTED_FUNCTIONS = {
    "donoharm/records/verification.py": ("xǁVerdictǁto_json", "x__moment", "x__colons", "x__text", "x__match",
                                         "x_verdict_lines", "x_bounded_stream_data"),
}
# Mutants no test can kill because they change nothing anyone can observe, each with why. A name holds while its
# function is unchanged; once the function changes, its mutants are numbered anew and show as survivors to look at.
SAME_CODEC = "'UTF-8' and 'utf-8' name the same codec"
EQUIVALENT: dict[str, str] = {
    "donoharm.runs.chain.x_event_hash__mutmut_8": SAME_CODEC,
    "donoharm.runs.chain.x_text_commitment__mutmut_7": SAME_CODEC,
    "donoharm.protocols.model.x_sha256_of__mutmut_5": SAME_CODEC,
    "donoharm.protocols.model.x_canonical_json__mutmut_4": "ensure_ascii=None is false, as False is",
    "donoharm.protocols.model.xǁProtocolǁin_language__mutmut_14":
        "'XXXX' is never a translation's tag (the schema's pattern is lower-case)",
    "donoharm.runs.flags.x_red_flags__mutmut_9": "a denominator of '' is no number, as None is: no 'of' rule",
    "donoharm.runs.flags.x_red_flags__mutmut_10":
        "the fold keeps no value for a step not done, so its value is None whichever branch reads it",
    "donoharm.runs.flags.x_red_flags__mutmut_13": "the fold lists every step, and the loader makes `of` name one",
    "donoharm.runs.flags.x_red_flags__mutmut_15": "the fold lists every step, and the loader makes `of` name one",
    "donoharm.runs.flags.x_red_flags__mutmut_58": "protocol.step(None) finds no step, as the else branch gives",
    "donoharm.records.verification.x__moment__mutmut_6":
        "a claimed time equal to now gives the same instant either way",
    "donoharm.transparency.suppression.x_publish_table__mutmut_48":
        "the row's own 'cells' is overwritten by the published cells in the same dict",
    "donoharm.transparency.suppression.x_publish_table__mutmut_49":
        "the row's own 'cells' is overwritten by the published cells in the same dict",
    "donoharm.transparency.suppression.x_withhold__mutmut_8": "None ends the loop as False does",
}
KILLED = {1, 3, 36, -24, 24, 152, 255, -9, -11}  # a test failed, or the tests hung or crashed (mutmut exit codes)
NO_TESTS = {5, 33}


def config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["mutmut"]


def run_mutmut(jobs: int, keep: bool) -> None:
    if not keep and MUTANTS.exists():
        shutil.rmtree(MUTANTS)
    MUTANTS.mkdir(exist_ok=True)
    log = MUTANTS / "mutmut-run.log"
    mutmut = Path(sys.executable).parent / "mutmut"
    if not mutmut.exists():
        sys.exit("mutmut is not installed: `make mutate` installs the test dependencies (pyproject.toml, [test])")
    with log.open("w") as out:
        done = subprocess.run([str(mutmut), "run", "--max-children", str(jobs)], cwd=ROOT, stdout=out,
                              stderr=subprocess.STDOUT)
    if done.returncode != 0:
        print(log.read_text("utf-8", "replace")[-4000:])
        sys.exit(f"mutmut failed (exit {done.returncode}); its whole output is in {log.relative_to(ROOT)}")


def function_of(mutant: str) -> str:
    return mutant.rsplit(".", 1)[1].rsplit("__mutmut_", 1)[0]


def results(module: str) -> dict[str, int | None]:
    """Every counted mutant of one module with mutmut's exit code for it."""
    meta = MUTANTS / f"{module}.meta"
    if not meta.exists():
        sys.exit(f"no results for {module}: run `make mutate` first")
    codes = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
    counted = COUNTED_FUNCTIONS.get(module)
    return {name: code for name, code in codes.items() if counted is None or function_of(name) in counted}


def rate(killed: int, total: int) -> str:
    return f"{100 * killed / total:.1f} %" if total else "-"


def report() -> int:
    modules = config()["only_mutate"]
    rows, survivors, totals = [], [], Counter()
    for module in modules:
        codes = results(module)
        counts = Counter()
        for name, code in codes.items():
            if code in KILLED:
                counts["killed"] += 1
            elif name in EQUIVALENT:
                counts["equivalent"] += 1
            else:
                counts["survived"] += 1
                counts["no test"] += code in NO_TESTS
                survivors.append(name)
        counts["total"] = len(codes)
        totals.update(counts)
        label = module + (" (verdict logic)" if module in COUNTED_FUNCTIONS else "")
        rows.append((label, counts))
    rows.append(("overall", totals))
    print(f"Mutation testing, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC (mutmut; configuration in pyproject.toml)\n")
    width = max(len(label) for label, _ in rows)
    print(f"{'module':<{width}}  killed  survived  equivalent  total  kill rate")
    for label, c in rows:
        survived = f"{c['survived']}" + (f" ({c['no test']} untested)" if c["no test"] else "")
        print(f"{label:<{width}}  {c['killed']:>6}  {survived:>8}  {c['equivalent']:>10}  {c['total']:>5}  "
              f"{rate(c['killed'], c['total'] - c['equivalent']):>9}")
    print("\nkill rate = killed / (total - equivalent); equivalent mutants change nothing observable "
          "(listed in scripts/mutate.py with why)")
    if survivors:
        print(f"\n{len(survivors)} surviving mutants (`.venv/bin/mutmut show NAME` for the change):")
        for name in sorted(survivors):
            print(f"  {name}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    if not args.report_only:
        started = datetime.now(UTC)
        run_mutmut(args.jobs, args.keep)
        print(f"mutmut ran for {(datetime.now(UTC) - started).total_seconds() / 60:.1f} minutes")
    return report()


if __name__ == "__main__":
    sys.exit(main())
