package config

import "testing"

// TestDisableMetrics: /metrics is served unless -disable-metrics, given as
// a flag or in the config file.
func TestDisableMetrics(t *testing.T) {
	n, err := loadArgs(t, required...)
	if err != nil || n.DisableMetrics {
		t.Fatalf("default: DisableMetrics %v, %v", n.DisableMetrics, err)
	}
	n, err = loadArgs(t, append(required, "-disable-metrics")...)
	if err != nil || !n.DisableMetrics {
		t.Fatalf("-disable-metrics: DisableMetrics %v, %v", n.DisableMetrics, err)
	}
	n, err = loadArgs(t, append(required, "-config", writeFile(t, `{"disable-metrics": true}`))...)
	if err != nil || !n.DisableMetrics {
		t.Fatalf(`{"disable-metrics": true}: DisableMetrics %v, %v`, n.DisableMetrics, err)
	}
}
