"""Python's repr of floats and numpy's str of float32 scalars, for the formatting tests.

Run: /work/venv-np/bin/python data/reference/gen_float_repr.py  (numpy 2.x)
Writes data/reference/float_repr.json: [{"bits64": hex of the float64, "py_repr": repr(float),
"bits32": hex of the float32, "np_str": str(np.float32)}].
"""
import json
import os
import struct

import numpy as np

rng = np.random.RandomState(1234)
values = list(rng.standard_normal(400) * 10.0 ** rng.randint(-8, 20, 400))
values += [8.9924468994140625, 45.64582824707031, 0.1, 1e16, 1e-5, 2017845837824.0, 0.0, -0.0, 1.5, 123456789.0]
values += [float(np.float32(v)) for v in rng.standard_normal(300) * 10.0 ** rng.randint(-6, 30, 300)]
out = []
for v in values:
    f32 = np.float32(v)
    out.append({
        "bits64": struct.pack(">d", float(v)).hex(),
        "py_repr": repr(float(v)),
        "bits32": struct.pack(">f", float(f32)).hex(),
        "np_str": str(f32),
    })
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "float_repr.json")
with open(path, "w") as f:
    json.dump({"about": "repr(float) and str(np.float32) from Python %s, numpy %s" % (__import__("sys").version.split()[0], np.__version__), "cases": out}, f, indent=0)
    f.write("\n")
