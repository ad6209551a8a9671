# Regenerates src/fixtures/optuna-3.1-parzen.json from Optuna 3.1 (Debian python3-optuna 3.1.0):
#   PYTHONPATH=<dir with optuna 3.1> /usr/bin/python3 packages/sweeps/bench/optuna-parzen-reference.py > packages/sweeps/src/fixtures/optuna-3.1-parzen.json
import json, numpy as np
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import default_weights, _split_observation_pairs
from optuna.distributions import FloatDistribution, IntDistribution, CategoricalDistribution
from optuna.samplers._tpe import _truncnorm

# Optuna 3.1.0's _truncnorm.logpdf forgets the -log(scale) term of the density (later releases add it:
# `out = _norm_logpdf(x) - _log_gauss_mass(a, b) - np.log(scale)`). ganboard implements the corrected
# density, so the reference applies the same fix; everything else is Optuna 3.1 as shipped.
_original_logpdf = _truncnorm.logpdf
def _fixed_logpdf(x, a, b, loc=0, scale=1):
    return _original_logpdf(x, a, b, loc=loc, scale=scale) - np.log(scale)
_truncnorm.logpdf = _fixed_logpdf
params = _ParzenEstimatorParameters(True, 1.0, True, False, default_weights, False)
out = {}
cases = {
 "uniform": (FloatDistribution(0.0, 1.0), [0.1, 0.5, 0.52, 0.9, 0.33], [0.0, 0.05, 0.3, 0.5, 0.77, 1.0]),
 "log": (FloatDistribution(1e-5, 1e-1, log=True), [1e-4, 3e-4, 2e-3, 5e-2], [1e-5, 1e-4, 2e-4, 1e-3, 0.05, 0.1]),
 "step": (FloatDistribution(0.0, 0.3, step=0.05), [0.05, 0.1, 0.1, 0.25], [0.0, 0.05, 0.1, 0.15, 0.3]),
 "int": (IntDistribution(16, 128, step=8), [32, 64, 64, 120], [16, 24, 64, 128]),
 "intlog": (IntDistribution(1, 1024, log=True), [4, 16, 700], [1, 4, 100, 1024]),
 "many": (FloatDistribution(0.0, 10.0), list(np.round(np.linspace(0.1, 9.9, 30)**1.3 % 10, 6)), [0.0, 2.5, 5.0, 9.99]),
 "cat": (CategoricalDistribution(["a","b","c","d"]), [0, 2, 2, 3], [0, 1, 2, 3]),
 "empty": (FloatDistribution(0.0, 1.0), [], [0.2, 0.9]),
}
for name, (dist, obs, xs) in cases.items():
    pe = _ParzenEstimator({"x": np.asarray(obs, dtype=float)}, {"x": dist}, params)
    lp = pe.log_pdf({"x": np.asarray(xs, dtype=(int if isinstance(dist, CategoricalDistribution) else float))})
    out[name] = {"obs": [float(o) for o in obs], "xs": [float(x) for x in xs], "logpdf": [float(v) for v in lp]}
out["weights40"] = list(map(float, default_weights(40)))
scores = [(-float("inf"), [3.0]), (-5, [1.0]), (-float("inf"), [2.0]), (-7, [9.0]), (1, [0.0]), (-float("inf"), [0.5]), (-7, [0.1])]
b, a = _split_observation_pairs(scores, 3, None)
out["split"] = {"below": b.tolist(), "above": a.tolist()}
print(json.dumps(out))
