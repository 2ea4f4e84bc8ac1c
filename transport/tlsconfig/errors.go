package tlsconfig

import "errors"

var (
	// ErrNoPeerCertificate: the other end of a cluster connection presented
	// no certificate.
	ErrNoPeerCertificate = errors.New("peer presented no certificate")
	// ErrWrongNode: a certificate's subject common name, the one node id
	// it proves, is not the node id expected.
	ErrWrongNode = errors.New("certificate's common name is not the node id")
	// ErrNotSignedByCA: a node certificate does not chain to the cluster CA.
	ErrNotSignedByCA = errors.New("certificate is not signed by the cluster CA")
	// ErrBadNodeName: a node name is unusable as a certificate name and a
	// file name.
	ErrBadNodeName = errors.New("node names may hold only letters, digits, '.', '-' and '_', and may not start with '.' or '-'")
)
