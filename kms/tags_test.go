package kms

import (
	"fmt"
	"strings"
	"testing"
)

func tagsOf(t *testing.T, ts *testService, id string) map[string]string {
	t.Helper()
	all, _ := listAll(t, ts, "ListResourceTags", "Tags", map[string]any{"KeyId": id}, 50)
	out := map[string]string{}
	for _, e := range all {
		out[e["TagKey"].(string)] = e["TagValue"].(string)
	}
	return out
}

func manyTags(n int, prefix string) []tag {
	tags := make([]tag, n)
	for i := range tags {
		tags[i] = tag{TagKey: fmt.Sprintf("%s%02d", prefix, i), TagValue: "v"}
	}
	return tags
}

func TestTagResource(t *testing.T) {
	ts := newTestService(t)
	ck := ts.mustCall(t, "CreateKey", map[string]any{"Tags": []tag{{"team", "core"}}})
	id := ck["KeyMetadata"].(map[string]any)["KeyId"].(string)
	if out := ts.mustCall(t, "TagResource", map[string]any{"KeyId": id, "Tags": []tag{{"env", "prod"}, {"team", "payments"}, {"empty", ""}}}); len(out) != 0 {
		t.Fatalf("TagResource answered %v", out)
	}
	if got := tagsOf(t, ts, id); len(got) != 3 || got["team"] != "payments" || got["env"] != "prod" || got["empty"] != "" {
		t.Fatalf("tags: %v", got)
	}
	// 3 tags now: 47 more fill the key, one more is one too many.
	ts.mustCall(t, "TagResource", map[string]any{"KeyId": id, "Tags": manyTags(47, "k")})
	ts.mustCall(t, "TagResource", map[string]any{"KeyId": id, "Tags": []tag{{"k00", "overwritten"}}})

	pending, pendingARN := ts.newKey(t)
	ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": pending})
	for _, tc := range []struct {
		name     string
		in       map[string]any
		typ, msg string
	}{
		{"past 50 on the key", map[string]any{"KeyId": id, "Tags": []tag{{"one-more", "x"}}}, "TagException", "Too many tags"},
		{"51 in the request", map[string]any{"KeyId": pending, "Tags": manyTags(51, "x")}, "TagException", "Too many tags"},
		{"aws: prefix", map[string]any{"KeyId": id, "Tags": []tag{{"aws:reserved", "x"}}}, "TagException", "Tags beginning with aws: are reserved"},
		{"AWS: prefix", map[string]any{"KeyId": id, "Tags": []tag{{"AWS:x", "x"}}}, "TagException", ""},
		{"duplicate keys", map[string]any{"KeyId": id, "Tags": []tag{{"d", "1"}, {"d", "2"}}}, "TagException", "Duplicate tag keys"},
		{"no tags", map[string]any{"KeyId": id, "Tags": []tag{}}, "ValidationException", ""},
		{"empty key", map[string]any{"KeyId": id, "Tags": []tag{{"", "x"}}}, "ValidationException", ""},
		{"key too long", map[string]any{"KeyId": id, "Tags": []tag{{strings.Repeat("k", 129), "x"}}}, "ValidationException", ""},
		{"value too long", map[string]any{"KeyId": id, "Tags": []tag{{"k", strings.Repeat("v", 257)}}}, "ValidationException",
			"1 validation error detected: Value at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"unknown key", map[string]any{"KeyId": missingKeyID, "Tags": []tag{{"a", "b"}}}, "NotFoundException", ""},
		{"pending deletion", map[string]any{"KeyId": pending, "Tags": []tag{{"a", "b"}}}, "KMSInvalidStateException", pendingARN + " is pending deletion."},
	} {
		t.Run(tc.name, func(t *testing.T) { ts.refused(t, "TagResource", tc.in, tc.typ, tc.msg) })
	}
	if got := tagsOf(t, ts, id); len(got) != 50 || got["k00"] != "overwritten" {
		t.Fatalf("%d tags, k00=%q", len(got), got["k00"])
	}
	// Length bounds are inclusive.
	fresh, _ := ts.newKey(t)
	ts.mustCall(t, "TagResource", map[string]any{"KeyId": fresh, "Tags": []tag{{strings.Repeat("k", 128), strings.Repeat("v", 256)}}})
	// CreateKey applies the same rules.
	ts.refused(t, "CreateKey", map[string]any{"Tags": []tag{{"aws:x", "y"}}}, "TagException", "")
	ts.refused(t, "CreateKey", map[string]any{"Tags": manyTags(51, "c")}, "TagException", "")
}

func TestUntagResource(t *testing.T) {
	ts := newTestService(t)
	id, _ := ts.newKey(t)
	ts.mustCall(t, "TagResource", map[string]any{"KeyId": id, "Tags": []tag{{"a", "1"}, {"b", "2"}, {"c", "3"}}})
	disabled, _ := ts.newKey(t)
	ts.mustCall(t, "TagResource", map[string]any{"KeyId": disabled, "Tags": []tag{{"a", "1"}}})
	ts.mustCall(t, "DisableKey", map[string]any{"KeyId": disabled})

	if out := ts.mustCall(t, "UntagResource", map[string]any{"KeyId": id, "TagKeys": []string{"a", "c", "absent"}}); len(out) != 0 {
		t.Fatalf("UntagResource answered %v", out)
	}
	if got := tagsOf(t, ts, id); len(got) != 1 || got["b"] != "2" {
		t.Fatalf("tags after untag: %v", got)
	}
	ts.mustCall(t, "UntagResource", map[string]any{"KeyId": disabled, "TagKeys": []string{"a"}})
	ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": disabled})
	ts.refused(t, "UntagResource", map[string]any{"KeyId": disabled, "TagKeys": []string{"a"}}, "KMSInvalidStateException", "")
	ts.refused(t, "UntagResource", map[string]any{"KeyId": id, "TagKeys": []string{}}, "ValidationException", "")
	ts.refused(t, "UntagResource", map[string]any{"KeyId": id, "TagKeys": []string{""}}, "ValidationException", "")
	ts.refused(t, "UntagResource", map[string]any{"KeyId": id, "TagKeys": []string{"aws:x"}}, "TagException", "")
	ts.refused(t, "UntagResource", map[string]any{"KeyId": missingKeyID, "TagKeys": []string{"b"}}, "NotFoundException", "")
}

func TestListResourceTags(t *testing.T) {
	ts := newTestService(t)
	id, arn := ts.newKey(t)
	// Tagged out of order: listed by tag key.
	tags := manyTags(7, "t")
	for i, j := 0, len(tags)-1; i < j; i, j = i+1, j-1 {
		tags[i], tags[j] = tags[j], tags[i]
	}
	ts.mustCall(t, "TagResource", map[string]any{"KeyId": id, "Tags": tags})
	all, pages := listAll(t, ts, "ListResourceTags", "Tags", map[string]any{"KeyId": arn}, 3)
	if len(all) != 7 || pages != 3 {
		t.Fatalf("%d tags in %d pages, want 7 in 3", len(all), pages)
	}
	for i, e := range all {
		if e["TagKey"] != fmt.Sprintf("t%02d", i) || e["TagValue"] != "v" {
			t.Fatalf("tag %d: %v", i, e)
		}
	}
	// No tags: an empty list, not an absent one.
	bare, _ := ts.newKey(t)
	if out := ts.mustCall(t, "ListResourceTags", map[string]any{"KeyId": bare}); len(out["Tags"].([]any)) != 0 || out["Truncated"] != false {
		t.Fatalf("ListResourceTags of an untagged key: %v", out)
	}
	// Tags of a key pending deletion stay readable.
	ts.mustCall(t, "ScheduleKeyDeletion", map[string]any{"KeyId": id})
	if out := ts.mustCall(t, "ListResourceTags", map[string]any{"KeyId": id, "Limit": 1000}); len(out["Tags"].([]any)) != 7 {
		t.Fatalf("ListResourceTags pending deletion: %v", out)
	}
	ts.refused(t, "ListResourceTags", map[string]any{"KeyId": id, "Limit": 0}, "ValidationException", "")
	ts.refused(t, "ListResourceTags", map[string]any{"KeyId": missingKeyID}, "NotFoundException", "")
	ts.refused(t, "ListResourceTags", map[string]any{}, "ValidationException", "")
}
