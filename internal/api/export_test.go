package api

// RequestsUnderWay is how many of sender's requests are under way, for tests that must know
// a slow upload has been let in before they go on.
func (s *Server) RequestsUnderWay(sender string) int {
	s.inflight.mu.Lock()
	defer s.inflight.mu.Unlock()
	return s.inflight.requests[sender]
}
