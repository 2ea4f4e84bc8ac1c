package kms

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/keyraft/keyraft/internal/awserr"
)

// pageLimit validates a List* Limit against AWS's wire constraint (1–1000
// for every KMS list) and returns the page size: def when absent, at most
// max. Several operations document a smaller maximum than the wire allows
// (ListAliases 100, ListResourceTags 50); AWS "might return fewer" items
// than Limit, so a larger Limit is served a shorter page rather than refused.
func pageLimit(limit *int32, def, max int) (int, *awserr.Error) {
	if e := checkRange("limit", limit, 1, 1000); e != nil {
		return 0, e
	}
	if limit == nil {
		return def, nil
	}
	return min(int(*limit), max), nil
}

// checkMarker applies AWS's MarkerType constraints.
func checkMarker(marker *string) *awserr.Error {
	if marker == nil {
		return nil
	}
	if e := checkLen("marker", *marker, 1, 1024); e != nil {
		return e
	}
	for _, r := range *marker {
		if r < 0x20 || r > 0xFF {
			return validation("marker", `Member must satisfy regular expression pattern: [\u0020-\u00FF]*`)
		}
	}
	return nil
}

// page returns the bounds of the page of sorted that follows after (the
// last item of the previous page; nil for the first page). Continuing from
// an item rather than from an offset keeps paging correct while items are
// added or removed between pages.
func page[T cmp.Ordered](sorted []T, after *T, limit int) (start, end int) {
	if after != nil {
		var found bool
		start, found = slices.BinarySearch(sorted, *after)
		if found {
			start++
		}
	}
	return start, min(start+limit, len(sorted))
}

func invalidMarker() *awserr.Error {
	return awserr.New("InvalidMarkerException", http.StatusBadRequest, "Invalid marker")
}
