// Package awsjson moves AWS JSON 1.1 requests and answers over HTTP: it
// reads a bounded body, decodes it with AWS's exact member names, and
// encodes answers and AWS-shaped errors. See transport/DESIGN.md.
package awsjson
