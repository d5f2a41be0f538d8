// tenantry-netcheck answers "is this traffic allowed?" for a set of NetworkPolicies and a
// list of connections, with the NetworkPolicy semantics of cyclonus's matcher library
// (github.com/mattfenwick/cyclonus/pkg/matcher), the engine behind `cyclonus analyze`. No
// cluster, no CNI: the policies are judged as the Kubernetes NetworkPolicy API defines them.
//
// Input (stdin, one JSON object):
//
//	{"policies": [<networking.k8s.io/v1 NetworkPolicy>...],
//	 "peers": [PEER...],
//	 "queries": [{"source": 0, "destination": 1, "port": 53, "portName": "dns", "protocol": "UDP"}...]}
//
// where PEER is {"namespace": ns, "namespaceLabels": {...}, "podLabels": {...}, "ip": "10.0.0.1"}
// for a pod, or {"ip": "203.0.113.10"} (no namespace) for an address outside the cluster,
// and a query names its peers by their index in "peers"; portName is the destination pod's
// name for that port ("" when unnamed). A policy without policyTypes is defaulted as the API
// server does (Ingress, plus Egress when it has egress rules). Output (stdout):
// {"cyclonus": VERSION, "results": [{"ingress": bool, "egress": bool, "allowed": bool}...]},
// one result per query, in query order.
//
// A policy applies only to pods of its own namespace, so a connection's ingress is judged
// with the destination namespace's policies and its egress with the source namespace's:
// the same answer as with every policy at once, in time independent of how many teams the
// cluster has.
// Exit 0 on success, 2 when the input cannot be read or a policy cannot be judged (stderr
// says which). `tenantry-netcheck --version` prints the cyclonus version it was built from.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	v1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

type peer struct {
	Namespace       string            `json:"namespace"`
	NamespaceLabels map[string]string `json:"namespaceLabels"`
	PodLabels       map[string]string `json:"podLabels"`
	IP              string            `json:"ip"`
}

type query struct {
	Source      int    `json:"source"`
	Destination int    `json:"destination"`
	Port        int    `json:"port"`
	PortName    string `json:"portName"`
	Protocol    string `json:"protocol"`
}

type input struct {
	Policies []*networkingv1.NetworkPolicy `json:"policies"`
	Peers    []peer                        `json:"peers"`
	Queries  []query                       `json:"queries"`
}

type result struct {
	Ingress bool `json:"ingress"`
	Egress  bool `json:"egress"`
	Allowed bool `json:"allowed"`
}

type output struct {
	Cyclonus string   `json:"cyclonus"`
	Results  []result `json:"results"`
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Printf("tenantry-netcheck cyclonus %s\n", cyclonusVersion())
		return
	}
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "tenantry-netcheck: no arguments (input on stdin), or --version")
		os.Exit(2)
	}
	out, err := run(os.Stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "tenantry-netcheck: %v\n", err)
		os.Exit(2)
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(os.Stderr, "tenantry-netcheck: %v\n", err)
		os.Exit(2)
	}
}

func run(in io.Reader) (out *output, err error) {
	var req input
	dec := json.NewDecoder(in)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("reading input: %w", err)
	}
	// The library panics on what it cannot judge (a malformed CIDR or port range).
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%v", r)
		}
	}()
	byNamespace := map[string][]*networkingv1.NetworkPolicy{}
	for i, p := range req.Policies {
		if p == nil {
			return nil, fmt.Errorf("policy %d is null", i)
		}
		defaultPolicyTypes(p)
		ns := p.Namespace
		if ns == "" {
			ns = "default" // as the library takes it (getPolicyNamespace)
		}
		byNamespace[ns] = append(byNamespace[ns], p)
	}
	built := map[string]*matcher.Policy{}
	policyOf := func(ns string) *matcher.Policy {
		if p, ok := built[ns]; ok {
			return p
		}
		p := matcher.BuildNetworkPolicies(true, byNamespace[ns])
		built[ns] = p
		return p
	}
	peers := make([]*matcher.TrafficPeer, len(req.Peers))
	for i, p := range req.Peers {
		if p.IP == "" {
			return nil, fmt.Errorf("peer %d: an ip is required", i)
		}
		peers[i] = trafficPeer(p)
	}
	out = &output{Cyclonus: cyclonusVersion(), Results: make([]result, 0, len(req.Queries))}
	for i, q := range req.Queries {
		if q.Protocol == "" || q.Port <= 0 {
			return nil, fmt.Errorf("query %d: a port and a protocol are required", i)
		}
		if q.Source < 0 || q.Source >= len(peers) || q.Destination < 0 || q.Destination >= len(peers) {
			return nil, fmt.Errorf("query %d: no such peer", i)
		}
		traffic := &matcher.Traffic{
			Source:           peers[q.Source],
			Destination:      peers[q.Destination],
			ResolvedPort:     q.Port,
			ResolvedPortName: q.PortName,
			Protocol:         v1.Protocol(q.Protocol),
		}
		ingress := policyOf(traffic.Destination.Namespace()).IsIngressOrEgressAllowed(traffic, true).IsAllowed()
		egress := policyOf(traffic.Source.Namespace()).IsIngressOrEgressAllowed(traffic, false).IsAllowed()
		out.Results = append(out.Results, result{Ingress: ingress, Egress: egress, Allowed: ingress && egress})
	}
	return out, nil
}

// defaultPolicyTypes does what the API server's defaulting does to a NetworkPolicy created
// without spec.policyTypes (pkg/apis/networking/v1 SetDefaults_NetworkPolicy).
func defaultPolicyTypes(p *networkingv1.NetworkPolicy) {
	if len(p.Spec.PolicyTypes) > 0 {
		return
	}
	p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	if len(p.Spec.Egress) > 0 {
		p.Spec.PolicyTypes = append(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	}
}

func trafficPeer(p peer) *matcher.TrafficPeer {
	if p.Namespace == "" {
		return &matcher.TrafficPeer{IP: p.IP}
	}
	return &matcher.TrafficPeer{
		IP: p.IP,
		Internal: &matcher.InternalPeer{
			Namespace:       p.Namespace,
			NamespaceLabels: orEmpty(p.NamespaceLabels),
			PodLabels:       orEmpty(p.PodLabels),
		},
	}
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// cyclonusVersion: the version of github.com/mattfenwick/cyclonus this binary was built
// from, read from the module build info.
func cyclonusVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/mattfenwick/cyclonus" {
				return dep.Version
			}
		}
	}
	return "unknown"
}
