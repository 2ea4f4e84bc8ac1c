package operator

import (
	"net/http"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/keyraft/keyraft/audit"
	"github.com/keyraft/keyraft/cluster"
	"github.com/keyraft/keyraft/fsm"
	"github.com/keyraft/keyraft/gateway"
	"github.com/keyraft/keyraft/iam"
	"github.com/keyraft/keyraft/internal/failtally"
	"github.com/keyraft/keyraft/seal"
	"github.com/keyraft/keyraft/transport/sigv4"
)

// API is one node's operator API and the ceremonies behind it. The node
// that runs it fills every exported field, then calls Start before the
// first request.
type API struct {
	NodeID, Region, Account string
	// Insecure: the node runs its cluster without mutual TLS or a gossip
	// key (-insecure), which status announces and `unseal -all` refuses.
	Insecure bool

	Log     hclog.Logger
	State   fsm.Query
	Barrier *seal.Barrier
	Node    *cluster.Node
	// IAM decides whether a principal may perform an operator action.
	IAM *iam.Service
	// Verifier checks the signatures made for SigningService.
	Verifier   *sigv4.Verifier
	Batcher    *audit.Batcher
	AuditStore *audit.Store
	Events     *gateway.Events
	// AuthFailures is the tally of refused signatures that the gateway
	// and this API count and that summariseAuthFailures records.
	AuthFailures *failtally.Tally
	// Now is the cluster clock.
	Now func() time.Time

	// Seal seals the whole node: the barrier, and every secret cached
	// beside it (node.Server.Seal).
	Seal func()
	// ScrubAfter asks the node to overwrite its free heap once the
	// request's connection closes, and to close it after the answer.
	ScrubAfter func(http.ResponseWriter, *http.Request)
	// Alarms are the NOSPACE alarms this node knows of and its CLOCK alarm.
	Alarms func() []cluster.Alarm
	// WriteTimeout is the API listener's; a long answer extends it.
	WriteTimeout time.Duration
	// ScratchDir is where a restore stages and trial-restores a backup
	// before raft takes it (inside the data dir: owner-only).
	ScratchDir string

	stop <-chan struct{}
	// asyncAudits holds a slot per operator event still being offered to
	// a leader (auditAsync).
	asyncAudits chan struct{}
	// unsealLimit and unsealFails guard the unauthenticated unseal
	// endpoint (unsealguard.go).
	// restoring is held by the snapshot restore running, so that two
	// (say, on a cluster not yet initialised) do not race.
	restoring sync.Mutex

	unsealLimit unsealLimiter
	unsealFails unsealFailures

	// rekeyShares and verifyShares hold, on the leader only, the shares
	// given towards the rekey in progress (rekey.go).
	rekeyShares, verifyShares seal.Gather
	// reseal wakes the re-seal loop after a rotation (rotate.go).
	reseal chan struct{}
}

// Start readies the API and runs its summaries of refused requests until
// stop closes.
func (a *API) Start(stop <-chan struct{}) {
	a.stop = stop
	a.asyncAudits = make(chan struct{}, maxPendingOperatorEvents)
	a.unsealFails.period = unsealSummaryPeriod
	a.reseal = make(chan struct{}, 1)
	go a.summariseAuthFailures()
	go a.watchUnsealFailures()
}

// extendWrite gives a long answer (an audit log export) another write
// timeout from now: its deadline rolls with each write, so a slow but
// reading client gets it all and a client that stops reading is dropped.
func (a *API) extendWrite(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(a.WriteTimeout))
}
