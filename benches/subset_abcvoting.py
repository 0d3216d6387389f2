#!/usr/bin/env python3
"""lisse-subset against abcvoting on identical approval instances (not run by CI).

    python3 benches/subset_abcvoting.py [--instances 10] [--m 50] [--n 100] [--k 10]

Creates a virtualenv under target/abcvoting-venv and installs abcvoting with its free ILP
back-ends (PuLP with CBC and HiGHS, OR-Tools CP-SAT) through pip. For each density t (every
voter approves the top t of a uniformly random ranking: t = 10 dense, t = 2 sparse) it writes
the rankings as PrefLib SOC files, runs `cargo run --release --example subset_peer` on them
(lisse's exact ILP), solves the same approval profiles with each abcvoting back-end, checks
that the optimal scores agree, and prints the time ratios. Back-ends that exceed the time
limit on an instance are reported as such.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "target", "abcvoting-venv")


def ensure_venv():
    py = os.path.join(VENV, "bin", "python")
    if os.environ.get("LISSE_ABC_INNER") == "1":
        return
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([py, "-m", "pip", "install", "-q", "abcvoting", "pulp", "ortools", "highspy"])
    env = dict(os.environ, LISSE_ABC_INNER="1")
    sys.exit(subprocess.call([py, os.path.abspath(__file__)] + sys.argv[1:], env=env))


def write_soc(path, m, rankings):
    with open(path, "w") as f:
        f.write("# DATA TYPE: soc\n")
        f.write(f"# NUMBER ALTERNATIVES: {m}\n")
        f.write(f"# NUMBER VOTERS: {len(rankings)}\n")
        f.write(f"# NUMBER UNIQUE ORDERS: {len(rankings)}\n")
        for r in rankings:
            f.write("1: " + ",".join(str(c + 1) for c in r) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=10)
    ap.add_argument("--m", type=int, default=50)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per abcvoting solve")
    args = ap.parse_args()
    from abcvoting import abcrules, scores
    from abcvoting.preferences import Profile

    rng = random.Random(2024)
    for t in (10, 2):
        d = os.path.join(ROOT, "target", "abcvoting-instances", f"t{t}")
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            os.remove(os.path.join(d, f))
        profiles = {}
        for i in range(args.instances):
            rankings = []
            for _ in range(args.n):
                r = list(range(args.m))
                rng.shuffle(r)
                # Distinct rankings only (the SOC format forbids repeats; collisions are
                # astronomically unlikely at m = 50).
                rankings.append(r)
            name = f"inst{i:03d}.soc"
            write_soc(os.path.join(d, name), args.m, rankings)
            profiles[name] = [sorted(r[:t]) for r in rankings]
        out = subprocess.check_output(
            ["cargo", "run", "-q", "--release", "--example", "subset_peer", "--", d, str(t), str(args.k)],
            cwd=ROOT,
            text=True,
        )
        ours = [json.loads(line) for line in out.splitlines() if line.strip()]
        print(f"\n## t = {t} approvals per voter, m = {args.m}, n = {args.n}, k = {args.k}, {args.instances} instances")
        for rule in ("cc", "pav"):
            mine = [o for o in ours if o["rule"] == rule]
            lisse_t = sorted(o["seconds"] for o in mine)
            print(f"\n{rule}: lisse ILP (microlp) median {1e3 * lisse_t[len(lisse_t) // 2]:.2f} ms per instance")
            algos = abcrules.Rule(rule).available_algorithms
            for algo in [a for a in ("ortools-cp", "pulp-cbc", "pulp-highs", "gurobi") if a in algos]:
                times, agree, failed = [], 0, 0
                for o in mine:
                    prof = Profile(num_cand=args.m)
                    prof.add_voters(profiles[o["file"]])
                    t0 = time.perf_counter()
                    try:
                        committees = abcrules.compute(rule, prof, args.k, algorithm=algo, resolute=True)
                    except Exception as e:  # a back-end that is not installed or fails
                        print(f"  {algo}: failed ({type(e).__name__}: {e})")
                        failed += 1
                        break
                    times.append(time.perf_counter() - t0)
                    score = float(scores.thiele_score(rule, prof, committees[0]))
                    agree += abs(score - o["score"]) < 1e-7
                    if times[-1] > args.timeout:
                        print(f"  {algo}: over {args.timeout} s on {o['file']}, stopping this back-end")
                        break
                if times and not failed:
                    times.sort()
                    med = times[len(times) // 2]
                    print(
                        f"  abcvoting {algo}: median {1e3 * med:.2f} ms; same optimum on {agree}/{len(times)}; "
                        f"abcvoting / lisse = {med / lisse_t[len(lisse_t) // 2]:.1f}x"
                    )


if __name__ == "__main__":
    ensure_venv()
    main()
