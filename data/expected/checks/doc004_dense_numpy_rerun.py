import numpy as np, pandas as pd
from sklearn.datasets import make_regression
np.random.seed(42)
x1=np.random.normal(size=100);x2=np.random.normal(size=100);x3=np.random.normal(size=100)
ds=pd.DataFrame({'x1':x1,'x2':x2,'x3':x3}); ds['y']=3*ds['x1']+2*ds['x2']-7*ds['x3']+5
print(ds.head())
st=np.random.get_state()
W0=np.array([[0.8773805],[0.3983569],[-0.34608656]],dtype=np.float32)
# SGD sim
def sgd(lr=0.1, em=0.01):
    np.random.set_state(st)
    w=W0.copy(); b=np.zeros(1,np.float32); L=[]; idxs=[]
    while True:
        r=ds.sample(1).values; x=r[0][:3].astype(np.float32); y=np.float32(r[0][-1])
        p=x@w+b; e=p[0]-y; L.append(e*e)
        g_w=(2*e*x).reshape(3,1); g_b=2*e
        w=w-np.float32(lr)*g_w; b=b-np.float32(lr)*g_b
        if len(L)>1 and abs(L[-1])<=em: break
    return w,b,L
w,b,L=sgd(); print('sgd',w.ravel(),b,L[0],L[-1],len(L))
def mb(lr=0.1, em=0.1, bs=3):
    np.random.set_state(st)
    w=W0.copy(); b=np.zeros(1,np.float32); L=[]
    while True:
        B=ds.sample(bs).values; X=B[:,:3].astype(np.float32); Y=B[:,-1].astype(np.float32)
        P=X@w+b  # (3,1)
        D=P-Y[None,:]  # (3,3): D[i,j]=p_i - y_j
        loss=np.mean(D*D); L.append(loss)
        dP=(2*D).mean(axis=1,keepdims=True)/3  # dloss/dp_i = sum_j 2 D_ij /9
        g_w=X.T@dP; g_b=dP.sum(0)
        w=w-np.float32(lr)*g_w; b=b-np.float32(lr)*g_b
        if len(L)>1 and abs(L[-1]-L[-2])<=em: break
    return w,b,L
w,b,L=mb(); print('mb',w.ravel(),b,L[0],L[-1],len(L))
x,y=make_regression(n_samples=10,n_features=10,n_targets=1,bias=1,random_state=42)
d=pd.concat([pd.DataFrame(x),pd.DataFrame(y)],axis=1)
pd.set_option('display.width',250); print(d.head()); print(repr(y))
