// Command promparse reads a Prometheus text exposition on stdin with Prometheus's own parser
// (github.com/prometheus/common/expfmt) and prints every sample as JSON lines
// {"name","labels","value"} (histograms expanded to _bucket/_sum/_count as exposed), so a
// test can compare it with what Periscope's /metrics meant. A parse error exits 1 with it.
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

type sample struct {
	Name   string            `json:"name"`
	Type   string            `json:"type"`
	Labels map[string]string `json:"labels"`
	Value  string            `json:"value"`
}

func num(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func labels(m *dto.Metric, extra ...string) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	for i := 0; i+1 < len(extra); i += 2 {
		out[extra[i]] = extra[i+1]
	}
	return out
}

func main() {
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names)
	enc := json.NewEncoder(os.Stdout)
	for _, n := range names {
		f := fams[n]
		typ := f.GetType().String()
		if len(f.GetMetric()) == 0 {
			_ = enc.Encode(sample{Name: n, Type: typ, Labels: map[string]string{}, Value: ""})
		}
		for _, m := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				_ = enc.Encode(sample{n, typ, labels(m), num(m.GetCounter().GetValue())})
			case dto.MetricType_GAUGE:
				_ = enc.Encode(sample{n, typ, labels(m), num(m.GetGauge().GetValue())})
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					_ = enc.Encode(sample{n + "_bucket", typ, labels(m, "le", num(b.GetUpperBound())), strconv.FormatUint(b.GetCumulativeCount(), 10)})
				}
				_ = enc.Encode(sample{n + "_sum", typ, labels(m), num(h.GetSampleSum())})
				_ = enc.Encode(sample{n + "_count", typ, labels(m), strconv.FormatUint(h.GetSampleCount(), 10)})
			default:
				_ = enc.Encode(sample{n, typ, labels(m), num(m.GetUntyped().GetValue())})
			}
		}
	}
}
