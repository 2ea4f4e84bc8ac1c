// Package seed reads the file `keyraft server -dev -seed FILE` takes: keys
// with fixed ids, descriptions, specs, usages, aliases, tags, policies and,
// where given, fixed material, so that a test suite can rely on them.
//
// The file is YAML or JSON (JSON is YAML): one mapping with a list "Keys".
// Field names are AWS's (KeyId, KeySpec, TagKey...). Parse checks the shape
// and what needs no key store (ids, duplicates, base64); kms.Service.Seed
// checks the rest as CreateKey would. Every error names the entry.
package seed

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"
)

// MaxSize bounds a seed file; MaxKeys the keys in it. A development seed
// is a few keys; the bounds keep a mistaken file from stalling start-up.
const (
	MaxSize = 1 << 20
	MaxKeys = 1000
)

// File is a parsed seed file.
type File struct {
	Keys []Key
}

// Key is one entry. Pointers are nil when the file leaves the field out,
// so that CreateKey's defaults apply.
type Key struct {
	KeyId       string
	Description *string
	KeySpec     *string
	KeyUsage    *string
	// Policy is the key policy as JSON text. The file may give it as a
	// string or as a YAML/JSON mapping.
	Policy  *string
	Aliases []string
	Tags    []Tag
	// Material is the decoded fixed key material, nil when generated.
	// It is secret: never printed, logged or put in an error.
	Material []byte
}

// Tag is AWS's tag shape.
type Tag struct {
	TagKey   string `yaml:"TagKey"`
	TagValue string `yaml:"TagValue"`
}

// rawKey is Key as written: material in base64, the policy as any node.
type rawKey struct {
	KeyId       string    `yaml:"KeyId"`
	Description *string   `yaml:"Description"`
	KeySpec     *string   `yaml:"KeySpec"`
	KeyUsage    *string   `yaml:"KeyUsage"`
	Policy      yaml.Node `yaml:"Policy"`
	Aliases     []string  `yaml:"Aliases"`
	Tags        []Tag     `yaml:"Tags"`
	Material    *string   `yaml:"Material"`
}

type rawFile struct {
	Keys []rawKey `yaml:"Keys"`
}

// Parse reads a seed file. It refuses unknown fields, duplicate ids and
// aliases, and more than one document.
func Parse(data []byte) (*File, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("seed file is %d bytes, more than the %d allowed", len(data), MaxSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var raw rawFile
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("seed file is empty: want a mapping with a list Keys")
		}
		return nil, fmt.Errorf("seed file: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("seed file: more than one YAML document; put every key under one Keys list")
	}
	if len(raw.Keys) > MaxKeys {
		return nil, fmt.Errorf("seed file has %d keys, more than the %d allowed", len(raw.Keys), MaxKeys)
	}
	out := &File{Keys: make([]Key, 0, len(raw.Keys))}
	ids := map[string]int{}
	aliases := map[string]int{}
	for i, rk := range raw.Keys {
		k, err := rk.key()
		if err != nil {
			return nil, fmt.Errorf("seed file: %s: %w", Name(i, rk.KeyId), err)
		}
		if j, dup := ids[k.KeyId]; dup {
			return nil, fmt.Errorf("seed file: %s: KeyId is also that of Keys[%d]", Name(i, rk.KeyId), j)
		}
		ids[k.KeyId] = i
		for _, a := range k.Aliases {
			if j, dup := aliases[a]; dup {
				return nil, fmt.Errorf("seed file: %s: alias %q is also given to Keys[%d]", Name(i, rk.KeyId), a, j)
			}
			aliases[a] = i
		}
		out.Keys = append(out.Keys, k)
	}
	return out, nil
}

// Name is how errors name entry i: its index and, when it has one, its id.
func Name(i int, id string) string {
	if id == "" {
		return fmt.Sprintf("Keys[%d]", i)
	}
	return fmt.Sprintf("Keys[%d] (KeyId %q)", i, truncate(id))
}

// truncate keeps a wrong id short in an error.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func (rk *rawKey) key() (Key, error) {
	k := Key{KeyId: rk.KeyId, Description: rk.Description, KeySpec: rk.KeySpec, KeyUsage: rk.KeyUsage,
		Aliases: rk.Aliases, Tags: rk.Tags}
	if k.KeyId == "" {
		return Key{}, errors.New("KeyId is required: a fixed id is what a seed is for")
	}
	// AWS's key ids are lower-case UUIDs; a test that hard-codes one must
	// get back the same spelling from DescribeKey.
	if u, err := uuid.Parse(k.KeyId); err != nil || u.String() != k.KeyId {
		return Key{}, errors.New("KeyId must be a lower-case UUID such as 1234abcd-12ab-34cd-56ef-1234567890ab")
	}
	for _, a := range k.Aliases {
		if !strings.HasPrefix(a, "alias/") || strings.HasPrefix(a, "alias/aws/") {
			return Key{}, fmt.Errorf("alias %q: must begin alias/ and not alias/aws/", truncate(a))
		}
	}
	switch rk.Policy.Kind {
	case 0: // absent: AWS's default key policy
	case yaml.ScalarNode:
		if rk.Policy.Tag == "!!null" {
			break
		}
		p := rk.Policy.Value
		k.Policy = &p
	case yaml.MappingNode:
		var v any
		if err := rk.Policy.Decode(&v); err != nil {
			return Key{}, fmt.Errorf("the Policy: %w", err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return Key{}, fmt.Errorf("the Policy cannot be written as JSON: %w", err)
		}
		p := string(b)
		k.Policy = &p
	default:
		return Key{}, errors.New("the Policy must be a JSON string or a mapping")
	}
	if rk.Material != nil {
		m, err := base64.StdEncoding.DecodeString(strings.TrimSpace(*rk.Material))
		if err != nil || len(m) == 0 {
			// The error does not quote the value: it is key material.
			return Key{}, errors.New("the Material is not standard base64 (for asymmetric keys: base64 of PKCS#8 DER)")
		}
		k.Material = m
	}
	return k, nil
}
