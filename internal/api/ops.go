package api

import "net/http"

// Ops is the operator console's backend.
type Ops interface{}

// opsRoutes registers the console's routes when Deps.Ops is set.
func (s *Server) opsRoutes(handle func(method, path string, h http.Handler)) {
	if s.deps.Ops == nil {
		return
	}
}
