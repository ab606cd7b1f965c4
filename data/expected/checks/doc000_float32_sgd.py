import numpy as np
X=np.arange(stop=100,step=2,dtype=np.float32); Y=X*np.float32(5.)+np.float32(3.)
a=np.float32(0);b=np.float32(0);lr=np.float32(1e-4); hist=[]
for i in range(15000):
    Yt=X*a+b; d=Y-Yt; L=np.abs(d); s=np.sign(d)
    ga=np.sum(-s*X,dtype=np.float32); gb=np.sum(-s,dtype=np.float32)
    a=a-lr*ga; b=b-lr*gb
    if i%10==0: hist.append(np.mean(L))
print(repr(a),repr(b),f'{a:.04f} {b:.04f}', f'{a:.02f} {b:.02f}', len(hist), hist[:3], hist[-3:])
