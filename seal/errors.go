package seal

import "errors"

// Errors returned by this package. Messages never include share or key bytes.
var (
	// ErrSealed: the node holds no open keyring and serves no crypto.
	ErrSealed = errors.New("node is sealed")
	// ErrNotInitialized: there is no init record (no sealed keyring) yet.
	ErrNotInitialized = errors.New("node is not initialized")
	// ErrWrongShares: threshold shares were given but they do not rebuild the
	// root key that seals the keyring. Unseal progress has been reset.
	ErrWrongShares = errors.New("unseal failed: the shares do not reconstruct the root key; progress was reset")
	// ErrInvalidShare: a share is structurally unusable (wrong length, too
	// few or too many to combine). It is rejected without changing progress.
	ErrInvalidShare = errors.New("invalid unseal share")
	// ErrBadParameters: a share count or threshold outside 1 <= T <= N <= 255
	// (T >= 2 when N >= 2), or a root key that is not 32 bytes.
	ErrBadParameters = errors.New("invalid key shares or threshold")
	// ErrWrongRootKey: the root key does not authenticate the sealed keyring.
	// Barrier.Unseal reports it as ErrWrongShares.
	ErrWrongRootKey = errors.New("the root key does not open the keyring")
	// ErrInvalidKeyring: the keyring authenticated but its contents are not a
	// keyring this version understands.
	ErrInvalidKeyring = errors.New("invalid keyring")
)
