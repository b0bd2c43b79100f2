"""Our hand-written CQL2-text parser against the kept ones (`cql2` in Rust, `pygeofilter` on lark), issue 15.

The corpus is tests/cql2_corpus.py: the filters /ogc supports (valid), legal ones with extreme values
(edge), what the outside probe sent and worse (hostile), and seeded mutants of the valid ones (generated).
Each parser runs in its own child process, so a segfault or a hang (> 1 s) costs one expression, not
the run. Per parser: accepted/refused per part, crashes (anything but the parser's own error type: a
RecursionError, another exception, a signal, a hang), agreement of verdicts with the others, whether the
accepted valid filters read the same as `cql2` reads them, and the parse time (median and p99, best of 3).
"ours+sql" is what the endpoint runs: our parse plus the allowlist/bound-value SQL builder.

    .venv/bin/python bench/cql2_parsers.py [--generated 400] [--seed 15]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PARSERS = ["ours", "ours+sql", "cql2", "pygeofilter"]
HANG_S = 1.0
VALID_TEXTS: list[str] = []


def _parser(name: str) -> tuple[Any, tuple[type[BaseException], ...], Any, Any]:
    """(parse(coll, text), the parser's documented error types, its CQL2-JSON, its operator tree)."""
    if name in ("ours", "ours+sql"):
        from geo.errors import InvalidInput
        from geo.ogc import cql2 as ours
        from geo.ogc.collections import COLLECTIONS
        from geo.ogc.cql2_sql import to_sql
        from tests.cql2_shape import as_json, normalise, op_tree

        if name == "ours":
            shape = lambda tree: normalise(as_json(tree))  # noqa: E731
            return (lambda coll, text: ours.parse(text)), (InvalidInput,), shape, lambda t: op_tree(as_json(t))
        return (lambda coll, text: to_sql(COLLECTIONS[coll], text, {})), (InvalidInput,), None, None
    if name == "cql2":
        import cql2

        from tests.cql2_shape import normalise, op_tree

        parse_text, error = cql2.parse_text, cql2.ParseError
        return (
            (lambda c, t: parse_text(t)),
            (error,),
            lambda e: normalise(e.to_json()),
            lambda e: op_tree(e.to_json()),
        )
    import lark
    from pygeofilter.parsers.cql2_text import parse

    from tests.cql2_shape import op_tree

    return (lambda coll, text: parse(text)), (lark.exceptions.LarkError,), None, op_tree


def worker(name: str) -> None:
    """Reads {coll, text} lines, answers {verdict, seconds, shape}; pygeofilter prints, so stdout is kept apart."""
    out = os.fdopen(os.dup(1), "w")
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 — for the process's life
    parse, errors, shape, ops = _parser(name)
    from tests.cql2_corpus import VALID

    for coll, text in VALID:  # warm up: pygeofilter loads its date parser on first use (~0.5 s)
        with contextlib.suppress(Exception):
            parse(coll, text)
    print("ready", file=out, flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        best, verdict, result = float("inf"), "ok", None
        for _ in range(3):
            t0 = time.perf_counter()
            try:
                result = parse(job["coll"], job["text"])
                verdict = "ok"
            except errors:
                verdict = "refused"
            except BaseException as exc:  # noqa: BLE001 — the point is to see what escapes
                verdict = f"crash:{type(exc).__name__}"
            best = min(best, time.perf_counter() - t0)
            if verdict != "ok" and best > 0.05:
                break
        form = tree = None
        if verdict == "ok" and job.get("part") == "valid":
            with contextlib.suppress(Exception):
                form = json.dumps(shape(result), default=str, sort_keys=True) if shape else None
                tree = json.dumps(ops(result)) if ops else None
        answer = {"verdict": verdict, "seconds": best, "shape": form, "ops": tree}
        print(json.dumps(answer), file=out, flush=True)


class Child:
    """One worker process; restarted after a crash or a hang."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", self.name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
        )  # fmt: skip
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def run(self, coll: str, text: str, part: str) -> dict:
        if self.proc is None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"coll": coll, "text": text, "part": part}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], HANG_S * 4 + 1)  # best of 3, plus slack
        line = self.proc.stdout.readline() if ready else ""
        if line:
            answer = json.loads(line)
            if answer["seconds"] <= HANG_S:
                return answer
            answer["verdict"] = "crash:hang>1s"
            return answer
        self.proc.kill()
        code = self.proc.wait()
        self.proc = None
        return {
            "verdict": f"crash:{'hang>1s' if ready == [] else f'signal {-code}'}",
            "seconds": HANG_S,
            "shape": None,
        }


def p99(xs: list[float]) -> float:
    return sorted(xs)[min(len(xs) - 1, int(0.99 * len(xs)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker")
    ap.add_argument("--generated", type=int, default=400)
    ap.add_argument("--seed", type=int, default=15)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker)
    from tests.cql2_corpus import EDGE, HOSTILE, VALID, generated

    parts = {"valid": VALID, "edge": EDGE, "hostile": HOSTILE, "generated": generated(args.generated, args.seed)}
    results: dict[str, dict[str, list[dict]]] = {p: {} for p in PARSERS}
    for name in PARSERS:
        child = Child(name)
        for part, corpus in parts.items():
            results[name][part] = [child.run(coll, text, part) for coll, text in corpus]
        if child.proc is not None:
            child.proc.kill()
    VALID_TEXTS[:] = [t for _, t in VALID]
    report(parts, results)
    for name in PARSERS:
        for part, corpus in parts.items():
            for (_, text), r in zip(corpus, results[name][part], strict=True):
                if r["verdict"].startswith("crash:"):
                    print(f"  {name} {part}: {r['verdict'][6:]} on {text[:48]!r}… ({len(text)} chars)")


def report(parts: dict, results: dict) -> None:
    sizes = ", ".join(f"{p} {len(c)}" for p, c in parts.items())
    print(f"corpus: {sizes}; hang = over {HANG_S:.0f} s; times are the best of 3 per filter")
    print(f"{'parser':<12}" + "".join(f"{p + ' ok/refused':>22}" for p in parts) + f"{'crashes':>9}")
    for name in PARSERS:
        cells, crashes = "", []
        for part in parts:
            vs = [r["verdict"] for r in results[name][part]]
            cells += f"{vs.count('ok'):>14}/{vs.count('refused'):<7}"
            crashes += [v[6:] for v in vs if v.startswith("crash:")]
        kinds = ", ".join(f"{k} ×{crashes.count(k)}" for k in sorted(set(crashes)))
        print(f"{name:<12}{cells}{len(crashes):>9}  {kinds}")
    base = [r["shape"] for r in results["cql2"]["valid"]]
    for name in ("ours", "cql2", "pygeofilter"):
        others = [o for o in ("ours", "cql2", "pygeofilter") if o != name]
        agree = []
        for other in others:
            same = total = 0
            for part in parts:
                for a, b in zip(results[name][part], results[other][part], strict=True):
                    total += 1
                    same += (a["verdict"] == "ok") == (b["verdict"] == "ok")
            agree.append(f"{other} {100 * same / total:.1f}%")
        print(f"verdicts of {name} agree with: {', '.join(agree)}")
    mine = [r["shape"] for r in results["ours"]["valid"]]
    alike = sum(1 for a, b in zip(mine, base, strict=True) if a is not None and a == b)
    print(f"valid filters read into the same CQL2-JSON by ours and cql2: {alike}/{len(mine)}")
    base_ops = [r["ops"] for r in results["cql2"]["valid"]]
    for name in ("ours", "pygeofilter"):
        theirs = [r["ops"] for r in results[name]["valid"]]
        same = [a is not None and a == b for a, b in zip(theirs, base_ops, strict=True)]
        odd = [
            VALID_TEXTS[i] for i, (s, t) in enumerate(zip(same, theirs, strict=True)) if t is not None and not s
        ]
        print(
            f"valid filters with cql2's operator tree (who binds what): {name} {sum(same)}/{len(same)}; differ: {odd[:3]}"
        )
    medians: dict[str, float] = {}
    for name in PARSERS:
        ts = [r["seconds"] for part in parts for r in results[name][part] if not r["verdict"].startswith("crash")]
        valid = [r["seconds"] for r in results[name]["valid"]]
        medians[name] = statistics.median(valid)
        print(
            f"{name:<12} parse time, valid: median {1e6 * medians[name]:8.1f} µs, p99 {1e6 * p99(valid):8.1f} µs;"
            f" whole corpus: median {1e6 * statistics.median(ts):8.1f} µs, p99 {1e6 * p99(ts):9.1f} µs"
        )
    for kept in ("cql2", "pygeofilter"):
        print(f"median on valid filters, ours/{kept}: {medians['ours'] / medians[kept]:.2f}")


if __name__ == "__main__":
    main()
