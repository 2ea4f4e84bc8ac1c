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

// TestFileValuesThatNameNothingRefused: a null or an object in a config
// file is refused by name (it used to set the flag to "<nil>" or
// "map[a:1]"); a list is taken only by a flag that holds a list (-join).
func TestFileValuesThatNameNothingRefused(t *testing.T) {
	for _, body := range []string{
		`{"node-id": "n1", "data-dir": "/d", "region": null}`,
		`{"node-id": "n1", "data-dir": "/d", "region": {"a": 1}}`,
		`{"node-id": "n1", "data-dir": "/d", "region": ["us-east-1", "eu-west-1"]}`,
		`{"node-id": "n1", "data-dir": "/d", "join": ["a:1", 2]}`,
	} {
		if _, err := loadArgs(t, "-config", writeFile(t, body)); err == nil {
			t.Errorf("%s: taken, want refused", body)
		}
	}
	n, err := loadArgs(t, "-config", writeFile(t, `{"node-id": "n1", "data-dir": "/d", "join": ["a:8203", "b:8203"], "disable-mlock": 1.0}`))
	if err != nil {
		t.Fatalf("a list for -join and a whole number for a boolean: %v", err)
	}
	if len(n.Join) != 2 || n.Join[0] != "a:8203" || n.Join[1] != "b:8203" {
		t.Fatalf("join %q, want [a:8203 b:8203]", n.Join)
	}
}
