// tenantry-celcheck checks ValidatingAdmissionPolicies (and their bindings) offline with the
// API server's own code, so `tenantry validate` refuses a policy the cluster would refuse:
//
//   - create validation: the object is decoded, defaulted and converted to the internal
//     version exactly as kube-apiserver does, then validated by
//     pkg/apis/admissionregistration/validation, which compiles every CEL expression
//     (syntax, unknown functions and variables, cost limits);
//   - type checking: what kube-controller-manager's ValidatingAdmissionPolicy status
//     controller reports in status.typeChecking (e.g. a field the matched kind does not
//     have), against the built-in kinds' OpenAPI definitions of this release.
//
// Input: a YAML or JSON stream on stdin; other kinds are skipped. Output: one line per
// problem, `<document index>\t<field path>: <message>` (index from 0, in input order).
// Exit 0 when clean, 1 when there are problems, 2 when the input cannot be read.
// `tenantry-celcheck --version` prints the Kubernetes release it was built from.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/meta/testrestmapper"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	validatingpolicy "k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	k8sscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	"k8s.io/kubernetes/pkg/apis/admissionregistration"
	_ "k8s.io/kubernetes/pkg/apis/admissionregistration/install"
	"k8s.io/kubernetes/pkg/apis/admissionregistration/validation"
	"k8s.io/kubernetes/pkg/generated/openapi"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "--version" {
		fmt.Printf("tenantry-celcheck %s\n", kubernetesVersion())
		return
	}
	problems, err := check(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "tenantry-celcheck: %v\n", err)
		os.Exit(2)
	}
	if problems > 0 {
		os.Exit(1)
	}
}

func check(in io.Reader, out io.Writer) (int, error) {
	w := bufio.NewWriter(out)
	defer w.Flush()
	// Decoding through the codec factory defaults and converts to the internal version,
	// which is what the API server validates.
	decoder := legacyscheme.Codecs.UniversalDecoder(admissionregistration.SchemeGroupVersion)
	checker := &validatingpolicy.TypeChecker{
		SchemaResolver: resolver.NewDefinitionsSchemaResolver(openapi.GetOpenAPIDefinitions, k8sscheme.Scheme),
		RestMapper:     testrestmapper.TestOnlyStaticRESTMapper(k8sscheme.Scheme),
	}
	reader := utilyaml.NewYAMLOrJSONDecoder(in, 4096)
	problems := 0
	report := func(index int, line string) {
		problems++
		fmt.Fprintf(w, "%d\t%s\n", index, oneLine(line))
	}
	for index := 0; ; index++ {
		var doc unstructured.Unstructured
		if err := reader.Decode(&doc.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return problems, fmt.Errorf("document %d: %w", index, err)
		}
		if doc.Object == nil || doc.GroupVersionKind().Group != admissionregistration.GroupName {
			continue
		}
		raw, err := doc.MarshalJSON()
		if err != nil {
			return problems, fmt.Errorf("document %d: %w", index, err)
		}
		obj, _, err := decoder.Decode(raw, nil, nil)
		if err != nil {
			report(index, fmt.Sprintf("cannot be decoded: %v", err))
			continue
		}
		switch o := obj.(type) {
		case *admissionregistration.ValidatingAdmissionPolicy:
			errs := validation.ValidateValidatingAdmissionPolicy(o)
			for _, e := range errs {
				report(index, e.Error())
			}
			if len(errs) == 0 {
				for _, warning := range typeCheck(checker, raw) {
					report(index, warning)
				}
			}
		case *admissionregistration.ValidatingAdmissionPolicyBinding:
			for _, e := range validation.ValidateValidatingAdmissionPolicyBinding(o) {
				report(index, e.Error())
			}
		}
	}
	return problems, nil
}

// oneLine joins a multi-line CEL error, leaving out the lines that only point a caret.
func oneLine(message string) string {
	var kept []string
	for _, l := range strings.Split(message, "\n") {
		if t := strings.TrimSpace(l); t != "" && strings.Trim(t, "|. ^") != "" {
			kept = append(kept, t)
		}
	}
	return strings.Join(kept, " ")
}

// typeCheck runs the status controller's type checker on the v1 object.
func typeCheck(checker *validatingpolicy.TypeChecker, raw []byte) []string {
	var policy admissionregistrationv1.ValidatingAdmissionPolicy
	if err := runtime.DecodeInto(legacyscheme.Codecs.UniversalDecoder(admissionregistrationv1.SchemeGroupVersion), raw, &policy); err != nil {
		return []string{fmt.Sprintf("cannot be decoded as %s: %v", admissionregistrationv1.SchemeGroupVersion, err)}
	}
	var out []string
	for _, w := range checker.Check(&policy) {
		out = append(out, fmt.Sprintf("%s: type checking: %s", w.FieldRef, w.Warning))
	}
	return out
}

// kubernetesVersion: the version of k8s.io/kubernetes this binary was built from (its
// validation code is that release's), read from the module build info.
func kubernetesVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "k8s.io/kubernetes" {
				return dep.Version
			}
		}
	}
	return "unknown"
}
