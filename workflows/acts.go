package workflows

import "digitalpost/internal/codec"

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
