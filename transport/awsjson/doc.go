// Package awsjson moves AWS JSON 1.1 requests and answers over HTTP: the
// target header, body limits, and AWS-shaped results and errors.
package awsjson
