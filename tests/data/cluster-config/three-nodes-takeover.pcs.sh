pcs cluster cib ganesha-ha.cib.xml
pcs -f ganesha-ha.cib.xml property set stonith-enabled=false
pcs -f ganesha-ha.cib.xml resource create nfs-mon ocf:ganesha:ganesha_mon grace_delay=0 op start interval=0s timeout=40s stop interval=0s timeout=40s monitor interval=10s timeout=10s --no-default-ops
pcs -f ganesha-ha.cib.xml resource clone nfs-mon
pcs -f ganesha-ha.cib.xml resource create node1-takeover ocf:ganesha:ganesha_takeover ip=192.168.77.201 op start interval=0s timeout=20s stop interval=0s timeout=20s promote interval=0s timeout=20s demote interval=0s timeout=20s notify interval=0s timeout=20s monitor interval=30s timeout=10s role=Promoted monitor interval=31s timeout=10s role=Unpromoted meta migration-threshold=1 failure-timeout=60s --no-default-ops
pcs -f ganesha-ha.cib.xml resource promotable node1-takeover
pcs -f ganesha-ha.cib.xml resource meta node1-takeover-clone notify=true promoted-max=1 promoted-node-max=1
pcs -f ganesha-ha.cib.xml resource create node1-cluster_ip-1 ocf:heartbeat:IPaddr2 ip=192.168.77.201 cidr_netmask=32 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=15s timeout=20s meta resource-stickiness=0 --no-default-ops
pcs -f ganesha-ha.cib.xml resource create node2-takeover ocf:ganesha:ganesha_takeover ip=192.168.77.202 op start interval=0s timeout=20s stop interval=0s timeout=20s promote interval=0s timeout=20s demote interval=0s timeout=20s notify interval=0s timeout=20s monitor interval=30s timeout=10s role=Promoted monitor interval=31s timeout=10s role=Unpromoted meta migration-threshold=1 failure-timeout=60s --no-default-ops
pcs -f ganesha-ha.cib.xml resource promotable node2-takeover
pcs -f ganesha-ha.cib.xml resource meta node2-takeover-clone notify=true promoted-max=1 promoted-node-max=1
pcs -f ganesha-ha.cib.xml resource create node2-cluster_ip-1 ocf:heartbeat:IPaddr2 ip=192.168.77.202 cidr_netmask=32 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=15s timeout=20s meta resource-stickiness=0 --no-default-ops
pcs -f ganesha-ha.cib.xml resource create node3-takeover ocf:ganesha:ganesha_takeover ip=192.168.77.203 op start interval=0s timeout=20s stop interval=0s timeout=20s promote interval=0s timeout=20s demote interval=0s timeout=20s notify interval=0s timeout=20s monitor interval=30s timeout=10s role=Promoted monitor interval=31s timeout=10s role=Unpromoted meta migration-threshold=1 failure-timeout=60s --no-default-ops
pcs -f ganesha-ha.cib.xml resource promotable node3-takeover
pcs -f ganesha-ha.cib.xml resource meta node3-takeover-clone notify=true promoted-max=1 promoted-node-max=1
pcs -f ganesha-ha.cib.xml resource create node3-cluster_ip-1 ocf:heartbeat:IPaddr2 ip=192.168.77.203 cidr_netmask=32 op start interval=0s timeout=20s stop interval=0s timeout=20s monitor interval=15s timeout=20s meta resource-stickiness=0 --no-default-ops
pcs -f ganesha-ha.cib.xml constraint location node1-takeover-clone rule constraint-id=location-node1-takeover-clone-ganesha-active role=Promoted score=-INFINITY not_defined ganesha-active or ganesha-active ne 1
pcs -f ganesha-ha.cib.xml constraint location node1-takeover-clone rule constraint-id=location-node1-takeover-clone-prefers-node2 role=Promoted score=1000 '#uname' eq node2
pcs -f ganesha-ha.cib.xml constraint location node1-takeover-clone rule constraint-id=location-node1-takeover-clone-prefers-node3 role=Promoted score=2000 '#uname' eq node3
pcs -f ganesha-ha.cib.xml constraint location node1-takeover-clone rule constraint-id=location-node1-takeover-clone-prefers-node1 role=Promoted score=3000 '#uname' eq node1
pcs -f ganesha-ha.cib.xml constraint location node1-cluster_ip-1 rule constraint-id=location-node1-cluster_ip-1-ganesha-active score=-INFINITY not_defined ganesha-active or ganesha-active ne 1
pcs -f ganesha-ha.cib.xml constraint colocation add node1-cluster_ip-1 with Promoted node1-takeover-clone INFINITY id=colocation-node1-cluster_ip-1-node1-takeover-clone-INFINITY
pcs -f ganesha-ha.cib.xml constraint order promote node1-takeover-clone then start node1-cluster_ip-1 kind=Mandatory id=order-promote-node1-takeover-clone-start-node1-cluster_ip-1
pcs -f ganesha-ha.cib.xml constraint location node2-takeover-clone rule constraint-id=location-node2-takeover-clone-ganesha-active role=Promoted score=-INFINITY not_defined ganesha-active or ganesha-active ne 1
pcs -f ganesha-ha.cib.xml constraint location node2-takeover-clone rule constraint-id=location-node2-takeover-clone-prefers-node3 role=Promoted score=1000 '#uname' eq node3
pcs -f ganesha-ha.cib.xml constraint location node2-takeover-clone rule constraint-id=location-node2-takeover-clone-prefers-node1 role=Promoted score=2000 '#uname' eq node1
pcs -f ganesha-ha.cib.xml constraint location node2-takeover-clone rule constraint-id=location-node2-takeover-clone-prefers-node2 role=Promoted score=3000 '#uname' eq node2
pcs -f ganesha-ha.cib.xml constraint location node2-cluster_ip-1 rule constraint-id=location-node2-cluster_ip-1-ganesha-active score=-INFINITY not_defined ganesha-active or ganesha-active ne 1
pcs -f ganesha-ha.cib.xml constraint colocation add node2-cluster_ip-1 with Promoted node2-takeover-clone INFINITY id=colocation-node2-cluster_ip-1-node2-takeover-clone-INFINITY
pcs -f ganesha-ha.cib.xml constraint order promote node2-takeover-clone then start node2-cluster_ip-1 kind=Mandatory id=order-promote-node2-takeover-clone-start-node2-cluster_ip-1
pcs -f ganesha-ha.cib.xml constraint location node3-takeover-clone rule constraint-id=location-node3-takeover-clone-ganesha-active role=Promoted score=-INFINITY not_defined ganesha-active or ganesha-active ne 1
pcs -f ganesha-ha.cib.xml constraint location node3-takeover-clone rule constraint-id=location-node3-takeover-clone-prefers-node1 role=Promoted score=1000 '#uname' eq node1
pcs -f ganesha-ha.cib.xml constraint location node3-takeover-clone rule constraint-id=location-node3-takeover-clone-prefers-node2 role=Promoted score=2000 '#uname' eq node2
pcs -f ganesha-ha.cib.xml constraint location node3-takeover-clone rule constraint-id=location-node3-takeover-clone-prefers-node3 role=Promoted score=3000 '#uname' eq node3
pcs -f ganesha-ha.cib.xml constraint location node3-cluster_ip-1 rule constraint-id=location-node3-cluster_ip-1-ganesha-active score=-INFINITY not_defined ganesha-active or ganesha-active ne 1
pcs -f ganesha-ha.cib.xml constraint colocation add node3-cluster_ip-1 with Promoted node3-takeover-clone INFINITY id=colocation-node3-cluster_ip-1-node3-takeover-clone-INFINITY
pcs -f ganesha-ha.cib.xml constraint order promote node3-takeover-clone then start node3-cluster_ip-1 kind=Mandatory id=order-promote-node3-takeover-clone-start-node3-cluster_ip-1
pcs cluster cib-push ganesha-ha.cib.xml --config
