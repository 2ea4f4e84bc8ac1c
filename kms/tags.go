package kms

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/fsm/fsmpb"
	"github.com/keyraft/keyraft/internal/awserr"
)

type tag struct {
	TagKey   string
	TagValue string
}

// checkTags validates the tags of one request (CreateKey, TagResource) in
// the order AWS does. The limit of 50 tags per key, which depends on the
// tags the key already has, is the FSM's to enforce.
func checkTags(tags []tag) *awserr.Error {
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if seen[t.TagKey] {
			return awserr.New("TagException", http.StatusBadRequest, "Duplicate tag keys")
		}
		seen[t.TagKey] = true
	}
	if len(tags) > fsm.MaxTagsPerKey {
		return awserr.New("TagException", http.StatusBadRequest, "Too many tags")
	}
	for i, t := range tags {
		field := "tags." + strconv.Itoa(i+1) + ".member."
		if e := checkLen(field+"tagKey", t.TagKey, 1, 128); e != nil {
			return e
		}
		if e := checkLen(field+"tagValue", t.TagValue, 0, 256); e != nil {
			return e
		}
		if e := checkTagKeyPrefix(t.TagKey); e != nil {
			return e
		}
	}
	return nil
}

func checkTagKeyPrefix(key string) *awserr.Error {
	if strings.HasPrefix(strings.ToLower(key), "aws:") {
		return awserr.New("TagException", http.StatusBadRequest, "Tags beginning with aws: are reserved")
	}
	return nil
}

func domainTags(tags []tag) []fsm.Tag {
	var out []fsm.Tag
	for _, t := range tags {
		out = append(out, fsm.Tag{Key: t.TagKey, Value: t.TagValue})
	}
	return out
}

func tagsToPB(tags []tag) []*fsmpb.Tag {
	var out []*fsmpb.Tag
	for _, t := range tags {
		out = append(out, &fsmpb.Tag{Key: t.TagKey, Value: t.TagValue})
	}
	return out
}

type tagResourceRequest struct {
	KeyId string
	Tags  []tag
}

func (s *Service) TagResource(ctx context.Context, call Call, req *tagResourceRequest) (any, *awserr.Error) {
	id, e := s.authorizedKeyID(call, "keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	if len(req.Tags) == 0 {
		return nil, validation("tags", "Member must have length greater than or equal to 1")
	}
	if e := checkTags(req.Tags); e != nil {
		return nil, e
	}
	return nil, s.commit(ctx, call, fsm.CmdTagResource, &fsmpb.TagResource{KeyId: id, Tags: tagsToPB(req.Tags)}, s.now())
}

type untagResourceRequest struct {
	KeyId   string
	TagKeys []string
}

func (s *Service) UntagResource(ctx context.Context, call Call, req *untagResourceRequest) (any, *awserr.Error) {
	id, e := s.authorizedKeyID(call, "keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	if len(req.TagKeys) == 0 {
		return nil, validation("tagKeys", "Member must have length greater than or equal to 1")
	}
	for i, k := range req.TagKeys {
		if e := checkLen("tagKeys."+strconv.Itoa(i+1)+".member", k, 1, 128); e != nil {
			return nil, e
		}
		if e := checkTagKeyPrefix(k); e != nil {
			return nil, e
		}
	}
	return nil, s.commit(ctx, call, fsm.CmdUntagResource, &fsmpb.UntagResource{KeyId: id, TagKeys: req.TagKeys}, s.now())
}

type listResourceTagsRequest struct {
	KeyId  string
	Limit  *int32
	Marker *string
}

// listResourceTags lists a key's tags in key order; a marker is the last
// tag key of the previous page.
func (s *Service) ListResourceTags(ctx context.Context, call Call, req *listResourceTagsRequest) (any, *awserr.Error) {
	id, e := s.authorizedKeyID(call, "keyId", req.KeyId)
	if e != nil {
		return nil, e
	}
	limit, e := pageLimit(req.Limit, 50, 50)
	if e != nil {
		return nil, e
	}
	if e := checkMarker(req.Marker); e != nil {
		return nil, e
	}
	k, e := s.readKey(id)
	if e != nil {
		return nil, e
	}
	slices.SortFunc(k.Tags, func(a, b fsm.Tag) int { return strings.Compare(a.Key, b.Key) })
	keys := make([]string, len(k.Tags))
	for i, t := range k.Tags {
		keys[i] = t.Key
	}
	start, end := page(keys, req.Marker, limit)
	tags := make([]tag, 0, end-start)
	for _, t := range k.Tags[start:end] {
		tags = append(tags, tag{TagKey: t.Key, TagValue: t.Value})
	}
	out := map[string]any{"Tags": tags, "Truncated": end < len(keys)}
	if end < len(keys) {
		out["NextMarker"] = keys[end-1]
	}
	return out, nil
}
