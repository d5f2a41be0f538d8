// The objects of a build as JSON (request format "json"): what tenantry parses instead of the
// YAML stream, because reading YAML in Node took longer than the builds themselves (a 200-team
// admin repo: 2.7 s of parsing beside 1.8 s of builds).
//
// kustomize prints its YAML from each object's JSON (resource.AsYAML is JSONToYAML of
// MarshalJSON): here that JSON is handed over as it is, the same objects in the same order
// with the same keys and values, minus the round trip through YAML. A render past the limit
// stops as it is counted.

package main

import (
	"bytes"

	"sigs.k8s.io/kustomize/api/resource"
)

func objectsJSON(resources []*resource.Resource, max int64) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, r := range resources {
		if i > 0 {
			buf.WriteByte(',')
		}
		b, err := r.MarshalJSON()
		if err != nil {
			return nil, err
		}
		buf.Write(b)
		if max > 0 && int64(buf.Len()) > max {
			return nil, refuse("RenderTooLarge", "the render is more than the limit of %d bytes", max)
		}
	}
	buf.WriteByte(']')
	return buf.Bytes(), nil
}
