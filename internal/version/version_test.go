package version

import "testing"

func TestCompose(t *testing.T) {
	rev := "0123456789abcdef0123456789abcdef01234567"
	for _, c := range []struct {
		settings map[string]string
		want     string
	}{
		{nil, "1.2.3"},
		{map[string]string{"vcs.revision": "abc"}, "1.2.3"},
		{map[string]string{"vcs.revision": rev}, "1.2.3 (0123456789ab)"},
		{map[string]string{"vcs.revision": rev, "vcs.modified": "true"}, "1.2.3 (0123456789ab+dirty)"},
	} {
		if got := compose("1.2.3", c.settings); got != c.want {
			t.Errorf("compose(%v) = %q, want %q", c.settings, got, c.want)
		}
	}
}

func TestStringStartsWithBase(t *testing.T) {
	if s := String(); len(s) < len(Base) || s[:len(Base)] != Base {
		t.Fatalf("String() = %q, want it to start with Base %q", s, Base)
	}
}
