package httpapi

// Patterns are the router's patterns ("GET /v1/generations/{id}"), the one
// route table that the OpenAPI document is checked against.
func (s *Service) Patterns() []string {
	s.routes()
	return append([]string(nil), s.patterns...)
}
