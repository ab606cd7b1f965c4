import math
W0,B0=1.4115247,-0.7143893; lr=0.001
L=[51.641,49.641,47.720,45.875,44.103,42.401,40.766,39.195,37.687,36.238,34.847]
# population moments: x~N(0,1), n~N(0,1), y=9x-2+n
eW,eB=9-W0,-2-B0
print('loss at init W0,B0 (pop.):', eW**2+eB**2+1)
eW1,eB1=eW*(1-2*lr),eB*(1-2*lr)
print('loss after 1 update (= Epoch 0 print):', eW1**2+eB1**2+1)
# sampling sd of MSE estimate over 8000 rows
v=eW1**2+1; mu=eB1; var_r2=2*v*v+4*mu*mu*v
print('sd of sample MSE over 8000:', math.sqrt(var_r2/8000), ' z=',(51.641-(eW1**2+eB1**2+1))/math.sqrt(var_r2/8000))
# fit decay: (L_k - c) = A r^k, solve c from three-point: (L1-c)^2=(L0-c)(L2-c)
for i in range(0,9):
    a,b,c_=L[i],L[i+1],L[i+2]; c=(a*c_-b*b)/(a+c_-2*b); r=(b-c)/(a-c); vx=(1-r**(1/20))/(2*lr)
print('last triple: floor c=%.3f ratio/10ep=%.5f implied var(x)=%.4f'%(c,r,vx))
c=1.004; r=(L[10]-c)/(L[0]-c); r10=r**(1/10); print('with floor 1.004: ratio per 10 epochs', r10, 'implied var(x)', (1-r10**(1/20))/(2*lr))
vx=(1-r10**(1/20))/(2*lr)
print('with that var(x): predicted Epoch-0 loss from printed W,B:', (eW1**2)*vx+eB1**2+1.004)
# which W0 would give 51.641 (B0 as printed)?
eWneed=math.sqrt((51.641-1.004-eB1**2)/vx)/(1-2*lr); print('W0 that fits 51.641:', 9-eWneed)
# final values predicted
f=(1-2*lr)**3000; print('residual error factor after 3000 epochs', f, 'W_final≈', 9-eW*f, 'B_final≈', -2-eB*f)
