# Optuna 3.1 reference for packages/sweeps/bench/tpe.ts (reads one JSON job on stdin, prints JSON).
# Needs Optuna 3.1 importable by /usr/bin/python3, e.g. Debian's python3-optuna 3.1.0 unpacked with
#   apt-get download python3-optuna python3-scipy python3-sqlalchemy python3-alembic python3-cmaes \
#     python3-colorlog python3-packaging python3-tqdm python3-mako python3-greenlet python3-markupsafe \
#     python3-typing-extensions && for f in *.deb; do dpkg -x $f /tmp/optuna-root; done
# and OPTUNA_PYTHONPATH=/tmp/optuna-root/usr/lib/python3/dist-packages. The bench skips Optuna when absent.
import json
import math
import sys
import time
import warnings

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import RandomSampler, TPESampler
from optuna.trial import TrialState, create_trial

optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore")


def distribution(p):
    if "values" in p:
        return CategoricalDistribution(p["values"])
    d = p["distribution"]
    if d == "log_uniform":
        return FloatDistribution(p["min"], p["max"], log=True)
    if d == "uniform":
        return FloatDistribution(p["min"], p["max"])
    if d == "int_uniform":
        return IntDistribution(p["min"], p["max"], step=p.get("q", 1))
    if d == "q_uniform":
        return FloatDistribution(p["min"], p["max"], step=p["q"])
    raise ValueError(d)


def suggest(trial, space):
    return {name: trial._suggest(name, dist) for name, dist in space.items()}


LOSS_PENALTY = {"bce": 0.6, "lsgan": 0.0, "hinge": 0.3}
OBJECTIVES = {
    "log-lr quadratic": lambda p: (math.log10(p["lr_g"]) + 3.5) ** 2 + (math.log10(p["lr_d"]) + 3) ** 2 + 4 * (p["beta1"] - 0.5) ** 2,
    "categorical+continuous mix": lambda p: LOSS_PENALTY[p["loss"]]
    + 0.25 * abs(math.log2(p["batch_size"]) - 6)
    + ((p["ngf"] - 64) / 32) ** 2
    + (math.log10(p["lr_g"]) + 3.7) ** 2
    + 3 * (p["label_smoothing"] - 0.1) ** 2,
}

job = json.load(sys.stdin)
space = {name: distribution(p) for name, p in job["parameters"].items()}

if job["mode"] == "time":
    study = optuna.create_study(sampler=TPESampler(seed=0))
    study.add_trials([create_trial(params=h["params"], distributions=space, value=h["value"]) for h in job["history"]])
    times, cpu = [], []
    for _ in range(job["repeats"]):
        t0, c0 = time.perf_counter(), time.process_time()
        trial = study.ask()
        suggest(trial, space)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        study.tell(trial, state=TrialState.FAIL)
    print(json.dumps({"times_ms": times, "cpu_ms": cpu, "version": optuna.__version__}))
else:
    objective = OBJECTIVES[job["objective"]]
    best = {"tpe": [], "random": []}
    for seed in job["seeds"]:
        for name, sampler in (("tpe", TPESampler(seed=seed)), ("random", RandomSampler(seed=seed))):
            study = optuna.create_study(sampler=sampler)
            study.optimize(lambda t: objective(suggest(t, space)), n_trials=job["trials"])
            best[name].append(study.best_value)
    print(json.dumps({"best": best, "version": optuna.__version__}))
