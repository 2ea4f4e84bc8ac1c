// Package layout states, as data, which of keyraft's packages may not reach
// which (DESIGN.md's Layout table), and finds the import chains that break
// those rules; its test runs the check over the module as `go list -deps`
// sees it, so a layout the code does not keep fails the build's tests rather
// than surviving in prose.
package layout
