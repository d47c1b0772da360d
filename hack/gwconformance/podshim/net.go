package main

import (
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
)

// addPodNetwork makes network namespace netns with lo and eth0 up, eth0
// holding ip/32 with a default route, and the veth peer host in the
// caller's namespace with a /32 route to ip. The pod reaches the caller's
// local addresses through it: the caller answers ARP for them on host.
func addPodNetwork(netns, host string, ip netip.Addr) error {
	cmds := [][]string{
		{"netns", "add", netns},
		{"link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", netns},
		{"link", "set", host, "up"},
		{"route", "add", ip.String() + "/32", "dev", host},
		{"-n", netns, "link", "set", "lo", "up"},
		{"-n", netns, "addr", "add", ip.String() + "/32", "dev", "eth0"},
		{"-n", netns, "link", "set", "eth0", "up"},
		{"-n", netns, "route", "add", "default", "dev", "eth0"},
	}
	for _, c := range cmds {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(c, " "), err, strings.TrimSpace(string(out)))
		}
	}
	return nil
}

// delPodNetwork removes the namespace; its eth0 goes with it, and so do
// the host end of the veth and its route.
func delPodNetwork(netns string) {
	_ = exec.Command("ip", "netns", "del", netns).Run()
}
