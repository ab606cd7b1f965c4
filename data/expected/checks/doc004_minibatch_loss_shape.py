import numpy as np, pandas as pd
np.random.seed(42)
x1=np.random.normal(size=100);x2=np.random.normal(size=100);x3=np.random.normal(size=100)
ds=pd.DataFrame({'x1':x1,'x2':x2,'x3':x3}); ds['y']=3*ds['x1']+2*ds['x2']-7*ds['x3']+5
st=np.random.get_state()
rows=[int(np.random.permutation(100)[0]) for _ in range(12)]; print('sgd rows',rows)
np.random.set_state(st)
B=ds.sample(3); print(B.index.tolist())
W0=np.array([[0.8773805],[0.3983569],[-0.34608656]],dtype=np.float32)
X=B.values[:,:3].astype(np.float32); Y=B.values[:,-1].astype(np.float32); P=(X@W0)[:,0]
print('broadcast loss',np.mean((P[:,None]-Y[None,:])**2),'rowwise loss',np.mean((P-Y)**2))
