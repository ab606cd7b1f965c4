import json, numpy as np
import os; R=json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)),'../../../../shared/reference/tf_sgd_row_indices.json')))
x=np.array([*range(1,2000)]).astype('float32'); y=x.copy()
lr=np.float32(0.001); w=np.float32(2.0)
with np.errstate(all='ignore'):
  for k,i in enumerate(R['exploding']['indices'][:8]):
    p=x[i]*w; e=y[i]-p; L=e*e; g=np.float32(2)*(p-y[i])*x[i]; w=w-lr*g
    print(k,i,repr(L),repr(g),repr(w), R['exploding']['loss'][k], R['exploding']['weight'][k])
def mm(a):
    mx,mn=max(a),min(a); return (a-mn)/(mx-mn)
xn=mm(x); yn=mm(y); w=np.float32(2); lr=np.float32(0.1)
for k,i in enumerate(R['normalized']['indices']):
    p=xn[i]*w; e=yn[i]-p; L=e*e; g=np.float32(2)*(p-yn[i])*xn[i]; w=w-lr*g
    if np.float64(L)!=R['normalized']['loss'][k] or np.float64(w)!=R['normalized']['weight'][k]: print('diff',k,L,w)
print(repr(w),repr(L))
