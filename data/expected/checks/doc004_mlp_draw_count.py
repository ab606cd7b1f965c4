import numpy as np, pandas as pd
from sklearn.datasets import make_regression
x,y=make_regression(n_samples=10,n_features=10,n_targets=1,bias=1,random_state=42)
with np.printoptions(precision=6, suppress=True, linewidth=200): print(x[:5])
printed=[-247.01207405,-324.12937683,-136.84556017,187.39641651,-121.36189259,-136.84556017,187.39641651,219.73358496,60.94917984,-136.84556017]
rows=[int(np.argmin(abs(y-v))) for v in printed]; print('rows',rows)
for N in range(0,1002):
    np.random.seed(42)
    for _ in range(N): np.random.permutation(10)
    got=[int(np.random.permutation(10)[0]) for _ in range(10)]
    if got==rows: print('training draws N =',N)
