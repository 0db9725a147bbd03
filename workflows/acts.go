package workflows

import (
	"errors"

	"digitalpost/internal/infra/codec"
)

// errUnboundAct refuses an act sealed for no workflow in particular: sealed before acts named
// their workflow, it can only have been copied from an old history (codec.Binding). Validators
// refuse it; they do not run when a history replays, so old histories replay as they were.
var errUnboundAct = errors.New("this act was sealed for no workflow in particular (copied from an old history?); refused")

// The payloads that record a human act open only as the act they were sealed as (codec.Act):
// one act of a workflow cannot be sent again as another.

func (Opening) HumanAct()           {}
func (WithdrawRequest) HumanAct()   {}
func (MoveAppointment) HumanAct()   {}
func (Response) HumanAct()          {}
func (Revocation) HumanAct()        {}
func (Decision) HumanAct()          {}
func (ProxyVerification) HumanAct() {}

var (
	_ codec.Act = Opening{}
	_ codec.Act = WithdrawRequest{}
	_ codec.Act = MoveAppointment{}
	_ codec.Act = Response{}
	_ codec.Act = Revocation{}
	_ codec.Act = Decision{}
	_ codec.Act = ProxyVerification{}
)
