#!/bin/sh
# probe.sh: one netavark setup, timed and traced: how many programs it
# runs (iptables, mostly). It changes the network of its namespace:
#   hack/sysbox run v2 --name net-m -- hack/netmeasure/probe.sh
set -e
[ -n "$SYSBOX" ] || { echo "probe.sh: run me inside hack/sysbox" >&2; exit 1; }
mkdir -p /run/probe/netavark /run/netns
ip netns add probe1
cat > /run/probe/opts.json <<J
{"container_id":"probe1","container_name":"probe1",
 "networks":{"pr":{"interface_name":"eth0","static_ips":["10.90.0.2"]}},
 "network_info":{"pr":{"name":"pr","id":"0123456789012345678901234567890123456789012345678901234567890123","driver":"bridge","network_interface":"pr0",
   "subnets":[{"subnet":"10.90.0.0/24","gateway":"10.90.0.1"}],"ipv6_enabled":false,"internal":false,"dns_enabled":false}},
 "port_mappings":[{"host_ip":"","container_port":80,"host_port":8080,"range":1,"protocol":"tcp"}]}
J
time /usr/lib/podman/netavark --config /run/probe/netavark setup /run/netns/probe1 < /run/probe/opts.json
strace -f -c -e trace=execve -o /run/probe/st /usr/lib/podman/netavark --config /run/probe/netavark teardown /run/netns/probe1 < /run/probe/opts.json
cat /run/probe/st | tail -5
strace -f -e trace=execve -o /run/probe/st2 /usr/lib/podman/netavark --config /run/probe/netavark setup /run/netns/probe1 < /run/probe/opts.json >/dev/null
grep -c execve /run/probe/st2; grep execve /run/probe/st2 | head -5
time iptables -t nat -L -n >/dev/null
/usr/lib/podman/netavark --config /run/probe/netavark teardown /run/netns/probe1 < /run/probe/opts.json
ip netns del probe1
