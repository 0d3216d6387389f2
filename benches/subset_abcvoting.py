#!/usr/bin/env python3
"""lisse-subset against abcvoting on identical approval instances, and Mallows sampling
throughput against prefsampling (not run by CI).

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
        subprocess.check_call([py, "-m", "pip", "install", "-q", "abcvoting", "pulp", "ortools", "highspy", "prefsampling"])
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


def _worker(queue, rule, m, voters, k, algo):
    from abcvoting import abcrules, scores
    from abcvoting.preferences import Profile

    try:
        prof = Profile(num_cand=m)
        prof.add_voters(voters)
        t0 = time.perf_counter()
        committees = abcrules.compute(rule, prof, k, algorithm=algo, resolute=True)
        seconds = time.perf_counter() - t0
        queue.put((seconds, float(scores.thiele_score(rule, prof, committees[0]))))
    except Exception as e:  # a back-end that is missing or fails
        queue.put(f"{type(e).__name__}: {e}")


def solve_with_timeout(rule, m, voters, k, algo, timeout):
    """(seconds, optimal score), an error string, or None after `timeout` seconds."""
    import multiprocessing as mp

    queue = mp.Queue()
    proc = mp.Process(target=_worker, args=(queue, rule, m, voters, k, algo))
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return None
    return queue.get() if not queue.empty() else "no result"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=10)
    ap.add_argument("--m", type=int, default=50)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per abcvoting solve")
    args = ap.parse_args()
    from abcvoting import abcrules

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
            # Free back-ends only (Gurobi needs a licence).
            for algo in [a for a in ("ortools-cp", "pulp-cbc", "pulp-highs") if a in algos]:
                times, agree, failed = [], 0, 0
                for o in mine:
                    res = solve_with_timeout(rule, args.m, profiles[o["file"]], args.k, algo, args.timeout)
                    if res is None:
                        print(f"  abcvoting {algo}: over {args.timeout} s on {o['file']} (killed); stopping this back-end")
                        failed += 1
                        break
                    if isinstance(res, str):
                        print(f"  abcvoting {algo}: failed ({res})")
                        failed += 1
                        break
                    seconds, score = res
                    times.append(seconds)
                    agree += abs(score - o["score"]) < 1e-7
                if times and not failed:
                    times.sort()
                    med = times[len(times) // 2]
                    print(
                        f"  abcvoting {algo}: median {1e3 * med:.2f} ms; same optimum on {agree}/{len(times)}; "
                        f"abcvoting / lisse = {med / lisse_t[len(lisse_t) // 2]:.1f}x"
                    )


def prefsampling_mallows():
    """Mallows sampling throughput of prefsampling, to set beside the criterion figure
    `subset_sampling/mallows_m50_1000_rankings` (normalized φ = 0.5, m = 50, 1000 rankings)."""
    from prefsampling.ordinal import mallows

    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        mallows(1000, 50, 0.5, normalise_phi=True, seed=1)
        best = min(best, time.perf_counter() - t0)
    print(f"\nprefsampling mallows (normφ = 0.5, m = 50): {1e3 * best:.1f} ms per 1000 rankings, {1 / best:.0f} rankings/s")


if __name__ == "__main__":
    ensure_venv()
    main()
    prefsampling_mallows()
