pcs cluster cib ganesha-ha.cib.xml
pcs -f ganesha-ha.cib.xml property set stonith-enabled=false
pcs -f ganesha-ha.cib.xml resource create nfs-mon ocf:ganesha:ganesha_mon op start interval=0s timeout=40s stop interval=0s timeout=40s monitor interval=10s timeout=10s --no-default-ops
pcs -f ganesha-ha.cib.xml resource clone nfs-mon
pcs -f ganesha-ha.cib.xml resource create nfs-grace ocf:ganesha:ganesha_grace op start interval=0s timeout=40s stop interval=0s timeout=40s notify interval=0s timeout=10s monitor interval=5s timeout=10s meta failure-timeout=60s --no-default-ops
pcs -f ganesha-ha.cib.xml resource clone nfs-grace
pcs -f ganesha-ha.cib.xml resource meta nfs-grace-clone notify=true
pcs -f ganesha-ha.cib.xml resource create node1-cluster_ip-1 ocf:heartbeat:IPaddr2 ip=192.168.77.201 cidr_netmask=32 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=15s timeout=20s meta resource-stickiness=0 --no-default-ops
pcs -f ganesha-ha.cib.xml resource create node2-cluster_ip-1 ocf:heartbeat:IPaddr2 ip=192.168.77.202 cidr_netmask=32 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=15s timeout=20s meta resource-stickiness=0 --no-default-ops
pcs -f ganesha-ha.cib.xml resource create node3-cluster_ip-1 ocf:heartbeat:IPaddr2 ip=192.168.77.203 cidr_netmask=32 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=15s timeout=20s meta resource-stickiness=0 --no-default-ops
pcs -f ganesha-ha.cib.xml constraint location nfs-grace-clone rule constraint-id=location-nfs-grace-clone-grace-active score=-INFINITY not_defined grace-active or grace-active ne 1
pcs -f ganesha-ha.cib.xml constraint location node1-cluster_ip-1 rule constraint-id=location-node1-cluster_ip-1-ganesha-active score=-INFINITY not_defined ganesha-active or ganesha-active ne 1
pcs -f ganesha-ha.cib.xml constraint location node1-cluster_ip-1 prefers node2=1000 node3=2000 node1=3000
pcs -f ganesha-ha.cib.xml constraint order start nfs-grace-clone then start node1-cluster_ip-1 kind=Optional id=order-nfs-grace-clone-node1-cluster_ip-1
pcs -f ganesha-ha.cib.xml constraint order stop nfs-grace-clone then start node1-cluster_ip-1 kind=Optional symmetrical=false id=order-stop-nfs-grace-clone-start-node1-cluster_ip-1
pcs -f ganesha-ha.cib.xml constraint location node2-cluster_ip-1 rule constraint-id=location-node2-cluster_ip-1-ganesha-active score=-INFINITY not_defined ganesha-active or ganesha-active ne 1
pcs -f ganesha-ha.cib.xml constraint location node2-cluster_ip-1 prefers node3=1000 node1=2000 node2=3000
pcs -f ganesha-ha.cib.xml constraint order start nfs-grace-clone then start node2-cluster_ip-1 kind=Optional id=order-nfs-grace-clone-node2-cluster_ip-1
pcs -f ganesha-ha.cib.xml constraint order stop nfs-grace-clone then start node2-cluster_ip-1 kind=Optional symmetrical=false id=order-stop-nfs-grace-clone-start-node2-cluster_ip-1
pcs -f ganesha-ha.cib.xml constraint location node3-cluster_ip-1 rule constraint-id=location-node3-cluster_ip-1-ganesha-active score=-INFINITY not_defined ganesha-active or ganesha-active ne 1
pcs -f ganesha-ha.cib.xml constraint location node3-cluster_ip-1 prefers node1=1000 node2=2000 node3=3000
pcs -f ganesha-ha.cib.xml constraint order start nfs-grace-clone then start node3-cluster_ip-1 kind=Optional id=order-nfs-grace-clone-node3-cluster_ip-1
pcs -f ganesha-ha.cib.xml constraint order stop nfs-grace-clone then start node3-cluster_ip-1 kind=Optional symmetrical=false id=order-stop-nfs-grace-clone-start-node3-cluster_ip-1
pcs cluster cib-push ganesha-ha.cib.xml --config
