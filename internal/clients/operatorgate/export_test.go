package operatorgate

// NewAt is New with the gate's clock, so a test can let a session expire.
var NewAt = newGate
