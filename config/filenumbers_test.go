package config

import "testing"

// TestFileNumbersAsBeforeTheConfigPackage: a config file's whole numbers
// written in a JSON spelling with a fraction or an exponent (100.0, 1e3, as
// many JSON writers emit them) were taken before the config package (the
// value went through float64 and fmt.Sprint, giving "100" and "1000");
// they still are, and the large integers that fix was for still work.
func TestFileNumbersAsBeforeTheConfigPackage(t *testing.T) {
	file := writeFile(t, `{"node-id": "n1", "data-dir": "/d", "max-connections": 1e3, "max-connections-per-ip": 100.0,
		"audit-retain-events": 1000000}`)
	n, err := loadArgs(t, "-config", file)
	if err != nil {
		t.Fatalf("a file the server took before is refused: %v", err)
	}
	if n.MaxConnections != 1000 || n.MaxConnectionsPerIP != 100 || n.AuditRetainEvents != 1000000 {
		t.Fatalf("max-connections %d, max-connections-per-ip %d, audit-retain-events %d; want 1000, 100, 1000000",
			n.MaxConnections, n.MaxConnectionsPerIP, n.AuditRetainEvents)
	}
}
