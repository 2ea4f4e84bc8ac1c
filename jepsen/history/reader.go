package history

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
)

// Read parses a JSON-lines history, in file order.
func Read(r io.Reader) ([]Op, error) {
	var ops []Op
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var op Op
		if err := json.Unmarshal(sc.Bytes(), &op); err != nil {
			return nil, fmt.Errorf("history line %d: %w", line, err)
		}
		ops = append(ops, op)
	}
	return ops, sc.Err()
}

// ReadFile reads a history file and sorts it by invocation time, the order
// every checker expects.
func ReadFile(path string) ([]Op, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ops, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	SortByInvoke(ops)
	return ops, nil
}

// SortByInvoke orders ops by invocation time, then id.
func SortByInvoke(ops []Op) {
	sort.SliceStable(ops, func(i, j int) bool {
		if ops[i].InvokeNS != ops[j].InvokeNS {
			return ops[i].InvokeNS < ops[j].InvokeNS
		}
		return ops[i].ID < ops[j].ID
	})
}

// Write appends ops as JSON lines (tests build doctored histories with it).
func Write(w io.Writer, ops []Op) error {
	enc := json.NewEncoder(w)
	for i := range ops {
		if err := enc.Encode(&ops[i]); err != nil {
			return err
		}
	}
	return nil
}
